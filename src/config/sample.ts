/** The posthorn.toml written on first start: every key commented out, showing its default. */
export const SAMPLE_CONFIG = `# Posthorn configuration. Every setting is optional; the values shown are the defaults.
# Command-line flags of "posthorn serve" override this file. Check it with: posthorn config check
version = 1

# hostname = "mail.example.com"   # default: the machine's host name
# log_level = "info"              # debug | info | warn | error

[listeners]                       # "HOST:PORT", "[::1]:PORT" or "off"
# smtp = "127.0.0.1:2525"         # MX (production: "0.0.0.0:25")
# submission = "127.0.0.1:2587"   # STARTTLS + AUTH (production: 587)
# smtps = "127.0.0.1:2465"        # implicit TLS + AUTH (production: 465)
# pop3 = "127.0.0.1:2110"         # production: 110
# pop3s = "127.0.0.1:2995"        # production: 995
# http = "127.0.0.1:8025"

[tls]                             # without these, a self-signed certificate is created in the data directory
# cert = "/etc/ssl/mail.pem"
# key = "/etc/ssl/mail.key"

[smtp]
# max_message_size = 52428800
# max_recipients = 100

[pop3]
# timeout = 600

[delivery]
# smarthost = "smtp+starttls://user:password@smtp.example.net:587"
# routes = { "example.org" = "127.0.0.1:2526" }

[http]                            # the web viewer and its API on listeners.http
# tls = false                     # serve HTTPS with the server's certificate
# auth = "auto"                   # auto | required | none (none: loopback only)
# max_body_size = 10485760

[dev]                             # developer mode: posthorn serve --dev
# max_messages = 10000            # retention per mailbox, oldest first (0: no limit)
`;
