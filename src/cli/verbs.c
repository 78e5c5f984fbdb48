/* The verb table: `letterbox [-c CONF] VERB ...`.  Keep usage lines in sync with INTERFACE.md. */
#include <stddef.h>

#include "cli/cli.h"

const struct cli_verb cli_verbs[] = {
	{ "init", cmd_init, "init DIR [--hostname NAME] [--port-base N]" },
	{ "serve", cmd_serve, "serve [-d]" },
	{ "config", cmd_config, "config get KEY | config set KEY VALUE | config check" },
	{ NULL, NULL, NULL },
};
