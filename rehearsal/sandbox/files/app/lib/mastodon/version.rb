# frozen_string_literal: true
# STAND-IN of Mastodon's version file (mastodon-migration rehearsal sandbox).
module Mastodon
  module Version
    module_function

    def major = 4
    def minor = 5
    def patch = 2
    def default_prerelease = ''
    def to_s = [major, minor, patch].join('.')
  end
end
