#!/usr/bin/env bash
# cloud-init on a new EC2 target whose source server uses full-text search (ES_ENABLED=true), after the
# prerequisites: the search engine of Mastodon's full-text search guide, Elasticsearch 7 from Elastic's apt
# repository with a Java runtime, reachable from this server only (one node), started at boot. The
# readiness check then asks it for its health, and the index is rebuilt after the move (tootctl search deploy).
# inputs:
export DEBIAN_FRONTEND=noninteractive
apt-get install -y openjdk-17-jre-headless
curl -fsSL https://artifacts.elastic.co/GPG-KEY-elasticsearch -o /usr/share/keyrings/elasticsearch.asc
echo "deb [signed-by=/usr/share/keyrings/elasticsearch.asc] https://artifacts.elastic.co/packages/7.x/apt stable main" >/etc/apt/sources.list.d/elastic-7.x.list
apt-get update
apt-get install -y elasticsearch
# The guide's security warning: nothing outside this server may reach it.
conf=/etc/elasticsearch/elasticsearch.yml
grep -q '^network.host:' "$conf" || echo 'network.host: 127.0.0.1' >>"$conf"
grep -q '^discovery.type:' "$conf" || echo 'discovery.type: single-node' >>"$conf"
systemctl daemon-reload
systemctl enable --now elasticsearch
