#!/usr/bin/env bash
# cloud-init on a new EC2 target: the install guide's prerequisites, the mastodon user, the PostgreSQL role
# and a checkout of the source server's Mastodon version with its gems and packages. The setup wizard is
# never run: the database, .env.production and media come from the source server.
# inputs: VERSION MUSER ROLE LIVE PGBOUNCER
export DEBIAN_FRONTEND=noninteractive
install -d -m 0755 /etc/apt/keyrings
curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor --yes -o /etc/apt/keyrings/nodesource.gpg
echo "deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_22.x nodistro main" >/etc/apt/sources.list.d/nodesource.list
apt-get update
apt-get install -y imagemagick ffmpeg libvips-tools libpq-dev libxml2-dev libxslt1-dev file git-core \
  g++ libprotobuf-dev protobuf-compiler pkg-config gcc autoconf bison build-essential libssl-dev libyaml-dev \
  libreadline-dev zlib1g-dev libncurses-dev libffi-dev libgdbm-dev nginx nodejs redis-server postgresql \
  postgresql-contrib certbot python3-certbot-nginx libidn-dev libicu-dev libjemalloc-dev rsync cron
# pgbouncer when the source server uses it (its /etc/pgbouncer is copied in prepare).
if [ "$PGBOUNCER" = true ]; then apt-get install -y pgbouncer && systemctl disable --now pgbouncer; fi
corepack enable
id "$MUSER" >/dev/null 2>&1 || adduser --disabled-password --gecos "" "$MUSER"
runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'" | grep -q 1 || runuser -u postgres -- createuser --createdb "$ROLE"
home=$(getent passwd "$MUSER" | cut -d: -f6)
# shellcheck disable=SC2016 # expanded by the mastodon user's shell
runuser -u "$MUSER" -- bash -lc '
  set -euo pipefail
  [ -d ~/.rbenv ] || git clone https://github.com/rbenv/rbenv.git ~/.rbenv
  [ -d ~/.rbenv/plugins/ruby-build ] || git clone https://github.com/rbenv/ruby-build.git ~/.rbenv/plugins/ruby-build
  [ -d "$1/.git" ] || git clone https://github.com/mastodon/mastodon.git "$1"
  cd "$1" && git fetch --tags && git checkout "$2"
  export PATH="$HOME/.rbenv/bin:$PATH" && eval "$(rbenv init -)"
  RUBY_CONFIGURE_OPTS=--with-jemalloc rbenv install --skip-existing
  gem install bundler --no-document
  bundle config deployment true && bundle config without "development test"
  bundle install -j"$(nproc)"
  yarn install
' _ "$LIVE" "$VERSION"
chmod o+x "$home"
# Leave only PostgreSQL running: Redis receives the source server's dump.rdb later.
systemctl stop redis-server
