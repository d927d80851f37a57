/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: building field trees, shared by decode.c and devpath.c. */
#ifndef TPA_EVENTLOG_DECODE_H
#define TPA_EVENTLOG_DECODE_H

#include <stdbool.h>

#include "internal.h"

/* The builder remembers an allocation failure instead of failing each call;
 * the caller checks b->nomem once at the end. */
typedef struct tpa_fb {
	bool nomem;
	unsigned flags; /* TPA_DECODE_* */
} tpa_fb;

tpa_field *tpa_fb_add(tpa_fb *b, tpa_field *parent, const char *name, tpa_field_kind kind);
void tpa_fb_str(tpa_fb *b, tpa_field *parent, const char *name, const char *s);
void tpa_fb_uint(tpa_fb *b, tpa_field *parent, const char *name, uint64_t v);
void tpa_fb_hex(tpa_fb *b, tpa_field *parent, const char *name, const uint8_t *p, size_t n);
void tpa_fb_guid(tpa_fb *b, tpa_field *parent, const char *name, const uint8_t *g);

/* Text conversions that never fail on bad input: invalid or unprintable
 * units become \xNN or U+FFFD.  Return malloc'd strings, NULL on ENOMEM. */
char *tpa_utf16_to_utf8(const uint8_t *p, size_t nbytes);
char *tpa_ascii_sanitize(const uint8_t *p, size_t n);

/* UEFI device path (UEFI 2.10, 10.3) as text, e.g.
 * PciRoot(0x0)/Pci(0x3,0x0)/HD(1,GPT,...)/\EFI\BOOT\BOOTX64.EFI.
 * A node that cannot be read ends the text with "/<malformed>". */
char *tpa_devpath_to_text(const uint8_t *p, size_t n);

#endif
