/* The verb table: `letterbox [-c CONF] VERB ...`.  Keep usage lines in sync with INTERFACE.md. */
#include <stddef.h>

#include "cli/cli.h"

const struct cli_verb cli_verbs[] = {
	{ "init", cmd_init, "init DIR [--hostname NAME] [--port-base N] [--admin EMAIL]" },
	{ "serve", cmd_serve, "serve [-d]" },
	{ "config", cmd_config, "config get KEY | config set KEY VALUE | config check" },
	{ "domain", cmd_domain, "domain add DOMAIN | domain del DOMAIN | domain list" },
	{ "user", cmd_user, "user add EMAIL | user passwd EMAIL | user del EMAIL | user list [DOMAIN]"
	    " | user check EMAIL   (password: one line on stdin)" },
	{ "forward", cmd_forward, "forward add SOURCE DEST[,DEST...] | forward del SOURCE"
	    " | forward list   (SOURCE may be @domain: catch-all)" },
	{ "transport", cmd_transport, "transport set DOMAIN TRANSPORT | transport del DOMAIN"
	    " | transport list   (TRANSPORT: smtp:[host]:port, smtp:host, relay:..., virtual:,"
	    " local:, error:text, discard:)" },
	{ "cert", cmd_cert, "cert create [--hostname NAME]" },
	{ "import-postfix", cmd_import_postfix, "import-postfix [--postfix-dir DIR] [--courier-dir DIR]"
	    " [--pam-dir DIR] [--force] OUTPUT.conf" },
	{ "sendmail", cmd_sendmail, "sendmail [-t] [-i] [-f SENDER] [-F NAME] [RCPT...]   (message on stdin)" },
	{ "queue", cmd_queue, "queue list | queue flush | queue delete ID|ALL" },
	{ NULL, NULL, NULL },
};
