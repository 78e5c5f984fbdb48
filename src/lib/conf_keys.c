/*
 * Every configuration key letterbox knows: name, type, default, bounds and
 * a one-line description.  Names follow Postfix's main.cf where the concept
 * is the same.  `letterbox config check` prints this table; README links it.
 */
#include <stddef.h>
#include <string.h>

#include "lib/conf.h"
#include "lib/conf_check.h"

#define D 86400
#define NOLIM 0, 0

static const struct conf_key keys[] = {
	/* Identity and paths */
	{ "config_directory", CONF_STR, "", NOLIM, NULL,
	  "directory of the config file (set by letterbox; read-only)" },
	{ "myhostname", CONF_STR, "", NOLIM, conf_check_hostname,
	  "this host's fully qualified name (default: the system's host name)" },
	{ "mydomain", CONF_STR, "", NOLIM, NULL,
	  "the parent domain of myhostname (default: myhostname minus its first label)" },
	{ "myorigin", CONF_STR, "$myhostname", NOLIM, NULL,
	  "domain appended to a bare local sender or recipient" },
	{ "mydestination", CONF_STR, "$myhostname, localhost.$mydomain, localhost", NOLIM, NULL,
	  "domains delivered through the aliases file (the host's own names)" },
	{ "mynetworks", CONF_STR, "127.0.0.0/8 [::1]/128", NOLIM, conf_check_networks,
	  "client networks allowed to relay (CIDR list)" },
	{ "queue_directory", CONF_STR, "$config_directory/spool", NOLIM, NULL,
	  "the durable mail queue" },
	{ "virtual_mailbox_base", CONF_STR, "$config_directory/vmail", NOLIM, NULL,
	  "root of the Maildirs: DOMAIN/LOCALPART/ below it" },
	{ "database", CONF_STR, "sqlite:$config_directory/letterbox.db", NOLIM, conf_check_database,
	  "directory: sqlite:PATH | mysql://USER:PASS@HOST[:PORT]/DB | postgresql://..." },
	{ "database_password_file", CONF_STR, "", NOLIM, NULL,
	  "file whose first line is the SQL password (instead of one in the URL)" },
	{ "domain_query", CONF_STR, "", NOLIM, NULL,
	  "SQL for 'is this domain hosted?' in Postfix style, '%s' = the domain (empty: built-in)" },
	{ "mailbox_query", CONF_STR, "", NOLIM, NULL,
	  "SQL for 'does this mailbox exist?', '%s' = address, '%u' local part, '%d' domain;"
	  " a non-empty first column is the Maildir path below virtual_mailbox_base" },
	{ "forward_query", CONF_STR, "", NOLIM, NULL,
	  "SQL giving an address's (or @domain's) forwarding destinations; rows are joined by ','" },
	{ "transport_query", CONF_STR, "", NOLIM, NULL, "SQL giving a domain's transport, '%s' = domain" },
	{ "password_query", CONF_STR, "", NOLIM, NULL,
	  "SQL giving a login's crypt(3) password hash, '%s' = login address" },
	{ "quota_query", CONF_STR, "", NOLIM, NULL,
	  "SQL giving a mailbox's quota in bytes ('NNNS' Courier style too; 0 = none),"
	  " '%s' = address; no row or NULL: virtual_mailbox_limit" },
	{ "alias_maps", CONF_STR, "$config_directory/aliases", NOLIM, NULL,
	  "aliases file in /etc/aliases format for mydestination names (re-read when changed)" },
	{ "mail_owner", CONF_STR, "vmail", NOLIM, NULL,
	  "user that owns Maildirs and the spool; serve drops to it when started as root" },
	{ "setgid_group", CONF_STR, "letterbox-drop", NOLIM, NULL,
	  "group of the setgid bin/sendmail that lets local users write queue_directory/maildrop" },
	{ "log_destination", CONF_STR, "stderr", NOLIM, conf_check_logdest,
	  "stderr | syslog | both" },
	{ "debug", CONF_BOOL, "no", NOLIM, NULL, "log debug lines (state changes)" },
	{ "worker_threads", CONF_INT, "4", 1, 256, NULL,
	  "threads for blocking work: password hashing, SQL, fsync-heavy delivery" },

	/* Listeners: "ADDR:PORT[, ADDR:PORT...]"; empty disables the service */
	{ "smtp_listen", CONF_STR, "0.0.0.0:25", NOLIM, conf_check_listen, "inbound SMTP (MX)" },
	{ "submission_listen", CONF_STR, "0.0.0.0:587", NOLIM, conf_check_listen, "submission, STARTTLS + AUTH" },
	{ "submissions_listen", CONF_STR, "0.0.0.0:465", NOLIM, conf_check_listen, "submission over implicit TLS" },
	{ "imap_listen", CONF_STR, "0.0.0.0:143", NOLIM, conf_check_listen, "IMAP, STARTTLS" },
	{ "imaps_listen", CONF_STR, "0.0.0.0:993", NOLIM, conf_check_listen, "IMAP over implicit TLS" },
	{ "pop3_listen", CONF_STR, "0.0.0.0:110", NOLIM, conf_check_listen, "POP3, STLS" },
	{ "pop3s_listen", CONF_STR, "0.0.0.0:995", NOLIM, conf_check_listen, "POP3 over implicit TLS" },

	/* SMTP server */
	{ "smtpd_banner", CONF_STR, "$myhostname ESMTP letterbox", NOLIM, NULL, "text after 220 in the greeting" },
	{ "smtpd_recipient_restrictions", CONF_STR,
	  "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination", NOLIM,
	  conf_check_restrictions, "RCPT policy, evaluated in order (Postfix semantics)" },
	{ "message_size_limit", CONF_SIZE, "10240000", 1024, (int64_t)1 << 40, NULL,
	  "largest message accepted, in bytes" },
	{ "smtpd_recipient_limit", CONF_INT, "1000", 1, 100000, NULL, "recipients per message" },
	{ "smtpd_soft_error_limit", CONF_INT, "10", 1, 1000, NULL, "errors before replies are delayed" },
	{ "smtpd_hard_error_limit", CONF_INT, "20", 1, 1000, NULL, "errors before the session is closed" },
	{ "smtpd_error_sleep_time", CONF_TIME, "1s", 0, 300, NULL,
	  "delay of each reply once a client has made smtpd_soft_error_limit errors" },
	{ "smtpd_client_unknown_recipient_limit", CONF_INT, "20", 0, 1000000, NULL,
	  "unknown-recipient rejections per client address per anvil_rate_time_unit before it gets"
	  " 421 (0 = no limit; mynetworks is exempt)" },
	{ "anvil_rate_time_unit", CONF_TIME, "60s", 1, 3600, NULL,
	  "the time window of the per-client rate limits" },
	{ "header_size_limit", CONF_SIZE, "102400", 1024, (int64_t)1 << 30, NULL,
	  "largest header section accepted; a longer one is refused with 552 5.3.4" },
	{ "queue_minfree", CONF_SIZE, "0", 0, (int64_t)1 << 50, NULL,
	  "free bytes the queue file system must keep, or MAIL gets 452 4.3.1"
	  " (0 = 2 x message_size_limit, at least 20 MB)" },
	{ "smtpd_line_limit", CONF_SIZE, "4096", 512, 1048576, NULL, "longest SMTP command line" },
	{ "smtpd_timeout", CONF_TIME, "300s", 1, 3600, NULL,
	  "time a client may take for a command (or the TLS close) before it is dropped" },
	{ "smtpd_data_timeout", CONF_TIME, "600s", 1, 3600, NULL,
	  "time a client may stay silent inside DATA or BDAT (RFC 5321 4.5.3.2.6: 10 min)" },
	/* Each service has its own limit, as master.cf gives each its own process limit (100). */
	{ "smtpd_max_connections", CONF_INT, "100", 1, 1000000, NULL,
	  "concurrent sessions on the smtp service (port 25)" },
	{ "submission_max_connections", CONF_INT, "100", 1, 1000000, NULL,
	  "concurrent sessions on the submission service (587)" },
	{ "submissions_max_connections", CONF_INT, "100", 1, 1000000, NULL,
	  "concurrent sessions on the submissions service (465)" },
	{ "smtpd_client_connection_count_limit", CONF_INT, "50", 1, 1000000, NULL,
	  "concurrent sessions of one SMTP service from one client address (mynetworks exempt)" },
	{ "smtpd_sasl_authenticated_header", CONF_BOOL, "no", NOLIM, NULL,
	  "put the SASL login name into Received:" },
	{ "broken_sasl_auth_clients", CONF_BOOL, "no", NOLIM, NULL,
	  "also advertise AUTH=PLAIN LOGIN for old Outlook clients" },
	{ "smtpd_sender_login_check", CONF_BOOL, "yes", NOLIM, NULL,
	  "on submission, MAIL FROM must be the login or one of its forwardings" },
	{ "hopcount_limit", CONF_INT, "50", 1, 1000, NULL, "Received: headers before a message is a loop" },
	{ "virtual_alias_recursion_limit", CONF_INT, "20", 1, 1000, NULL, "forwarding expansion depth" },
	{ "virtual_alias_expansion_limit", CONF_INT, "1000", 1, 100000, NULL, "addresses one recipient may expand to" },
	{ "localpart_case_sensitive", CONF_BOOL, "no", NOLIM, NULL,
	  "treat Alice@ and alice@ as different mailboxes" },

	/* Delivery and queue */
	{ "virtual_create_maildirsize", CONF_BOOL, "no", NOLIM, NULL, "keep the Maildir++ maildirsize file" },
	{ "virtual_mailbox_limit", CONF_SIZE, "0", 0, (int64_t)1 << 50, NULL, "per-mailbox quota in bytes (0 = none)" },
	{ "minimal_backoff_time", CONF_TIME, "300s", 1, 100 * D, NULL, "first retry delay of a deferred message" },
	{ "maximal_backoff_time", CONF_TIME, "4000s", 1, 100 * D, NULL, "longest retry delay" },
	{ "maximal_queue_lifetime", CONF_TIME, "5d", 0, 100 * D, NULL, "age at which a deferred message bounces" },
	{ "bounce_queue_lifetime", CONF_TIME, "5d", 0, 100 * D, NULL, "the same for bounces" },
	{ "delay_warning_time", CONF_TIME, "0h", 0, 100 * D, NULL, "send a delay notice after this long (0 = never)" },
	{ "queue_run_delay", CONF_TIME, "300s", 1, D, NULL, "how often the deferred queue is scanned" },
	{ "relayhost", CONF_STR, "", NOLIM, NULL, "default next hop for remote mail: [host]:port or host" },
	{ "dns_resolver", CONF_STR, "", NOLIM, NULL, "DNS server ADDR[:PORT] (default: /etc/resolv.conf)" },
	{ "smtp_connect_timeout", CONF_TIME, "30s", 1, 3600, NULL, "outbound connect timeout" },
	{ "smtp_timeout", CONF_TIME, "300s", 1, 3600, NULL, "outbound reply timeout" },
	{ "default_destination_concurrency_limit", CONF_INT, "20", 1, 1000, NULL,
	  "parallel outbound connections to one destination" },

	/* TLS and authentication */
	{ "smtpd_tls_cert_file", CONF_STR, "$config_directory/tls/cert.pem", NOLIM, NULL,
	  "certificate (with chain) in PEM" },
	{ "smtpd_tls_key_file", CONF_STR, "$config_directory/tls/key.pem", NOLIM, NULL, "private key in PEM" },
	{ "smtpd_tls_chain_file", CONF_STR, "", NOLIM, NULL, "extra intermediate certificates in PEM" },
	{ "tls_sni_maps", CONF_STR, "", NOLIM, NULL,
	  "per-name certificates: NAME=CERT:KEY, comma-separated" },
	{ "smtpd_tls_protocols", CONF_STR, ">=TLSv1", NOLIM, conf_check_tls_protocols,
	  "oldest TLS version STARTTLS on port 25 accepts: >=TLSv1 | >=TLSv1.1 | >=TLSv1.2 | >=TLSv1.3"
	  " (submission, IMAP and POP3 always need TLSv1.2+)" },
	{ "tls_handshake_timeout", CONF_TIME, "30s", 1, 600, NULL, "TLS handshake timeout" },
	{ "disable_plaintext_auth", CONF_BOOL, "yes", NOLIM, NULL,
	  "AUTH/LOGIN/USER only after TLS (as Dovecot)" },
	{ "allow_plaintext_passwords", CONF_BOOL, "no", NOLIM, NULL,
	  "accept {PLAIN} and empty stored password hashes" },
	{ "password_upgrade", CONF_BOOL, "no", NOLIM, NULL,
	  "rewrite an old hash as yescrypt after a successful login" },
	{ "auth_failure_limit", CONF_INT, "3", 1, 100, NULL, "failed AUTHs before a session is closed" },
	{ "auth_failure_delay", CONF_TIME, "1s", 0, 60, NULL,
	  "wait before a failed login's reply; doubles per failure from that client up to 8x (0 = none)" },

	/* IMAP and POP3 */
	{ "login_timeout", CONF_TIME, "60s", 1, 3600, NULL, "time to authenticate" },
	{ "imap_idle_timeout", CONF_TIME, "30m", 60, D, NULL, "IMAP idle (and IDLE) timeout" },
	{ "imap_namespace", CONF_STR, "modern", NOLIM, conf_check_imap_namespace,
	  "IMAP folder view: modern (no prefix, '/') | courier (\"INBOX.\" prefix, '.')" },
	{ "imap_notify_max_mailboxes", CONF_INT, "1000", 1, 100000, NULL,
	  "mailboxes one IMAP NOTIFY session may follow (each costs 3 inotify watches, shared)" },
	{ "mail_fsync", CONF_STR, "optimized", NOLIM, conf_check_mail_fsync,
	  "what a folder's index fsyncs: optimized (as Dovecot: messages, UIDs and expunges"
	  " before the reply; flag changes written, not fsynced) | always (flag changes too)" },
	{ "imap_max_line_length", CONF_SIZE, "65536", 1024, 16777216, NULL, "IMAP command line after login" },
	{ "max_open_files", CONF_INT, "0", 0, 100000000, NULL,
	  "descriptor limit the daemon raises its soft RLIMIT_NOFILE to (0 = the hard limit);"
	  " sessions are refused 128 short of it" },
	{ "imap_max_connections", CONF_INT, "1000", 1, 1000000, NULL,
	  "concurrent sessions on the imap service (each service has its own limit)" },
	{ "imaps_max_connections", CONF_INT, "1000", 1, 1000000, NULL,
	  "concurrent sessions on the imaps service" },
	{ "imap_client_connection_count_limit", CONF_INT, "20", 1, 1000000, NULL,
	  "concurrent IMAP sessions from one client address" },
	{ "imap_user_connection_limit", CONF_INT, "20", 0, 1000000, NULL,
	  "concurrent logged-in IMAP sessions of one user (0 = no limit); one more gets NO [LIMIT]" },
	{ "pop3_timeout", CONF_TIME, "10m", 1, D, NULL, "POP3 idle timeout" },
	{ "pop3_max_connections", CONF_INT, "1000", 1, 1000000, NULL,
	  "concurrent sessions on the pop3 service (each service has its own limit)" },
	{ "pop3s_max_connections", CONF_INT, "1000", 1, 1000000, NULL,
	  "concurrent sessions on the pop3s service" },
	{ "pop3_client_connection_count_limit", CONF_INT, "20", 1, 1000000, NULL,
	  "concurrent POP3 sessions from one client address" },
};

/* lib/conf_ids.h is generated from this table: one CK_ constant per entry. */
_Static_assert(sizeof(keys) / sizeof(keys[0]) == CK__COUNT,
    "lib/conf_ids.h is out of date with the key table");

const struct conf_key *
conf_keys(unsigned *n_r)
{
	if (n_r != NULL)
		*n_r = sizeof(keys) / sizeof(keys[0]);
	return keys;
}

const struct conf_key *
conf_key_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}
