# frozen_string_literal: true
# Puma configuration, as in Mastodon (read by the stand-in web server only for show).
threads_count = ENV.fetch('MAX_THREADS', 5).to_i
threads threads_count, threads_count
port ENV.fetch('PORT', 3000)
environment ENV.fetch('RAILS_ENV', 'development')
workers ENV.fetch('WEB_CONCURRENCY', 2)
preload_app!
