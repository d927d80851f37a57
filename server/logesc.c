/* SPDX-License-Identifier: BSD-2-Clause */
/* Untrusted strings (machine names, paths, reasons quoting event data) in
 * the server's log: one line per entry, whatever they hold. */
#include <stdio.h>
#include <string.h>

#include "server.h"

void srv_log_escape(const char *s, size_t len, char *out, size_t outlen)
{
	size_t o = 0;
	if (!outlen)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char tmp[5];
		size_t tl;
		if (c == '\n')
			memcpy(tmp, "\\n", tl = 2);
		else if (c == '\t')
			memcpy(tmp, "\\t", tl = 2);
		else if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			tl = 2;
		} else if (c < 0x20 || c > 0x7e) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", c);
			tl = 4;
		} else {
			tmp[0] = (char)c;
			tl = 1;
		}
		if (o + tl + 4 > outlen) {
			if (o + 4 <= outlen) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(out + o, tmp, tl);
		o += tl;
	}
	out[o < outlen ? o : outlen - 1] = '\0';
}
