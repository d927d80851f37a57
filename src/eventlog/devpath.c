/* SPDX-License-Identifier: BSD-2-Clause */
/* UEFI device paths to text, after UEFI 2.10, 10.3 and 10.6.1.6 (text forms).
 * Only the nodes firmware puts in boot event logs get a name; others print as
 * Path(type,subtype,hex), as the UEFI text form prescribes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/reader.h"
#include "base/util.h"
#include "decode.h"

#define DEVPATH_MAX_TEXT (64u * 1024)

typedef struct sbuf {
	char *s;
	size_t len, cap;
	bool nomem;
	bool full; /* hit DEVPATH_MAX_TEXT: later text is dropped */
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (b->nomem || b->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (b->len + (size_t)n + 1 > DEVPATH_MAX_TEXT) {
		b->full = true;
		return;
	}
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t ncap = (b->len + (size_t)n + 1) * 2;
		char *ns = realloc(b->s, ncap);
		if (!ns) {
			b->nomem = true;
			return;
		}
		b->s = ns;
		b->cap = ncap;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void sb_guid(sbuf *b, const uint8_t *g)
{
	char t[37];
	tpa_guid_to_string(g, t);
	sb_printf(b, "%s", t);
}

static void sb_hex(sbuf *b, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sb_printf(b, "%02x", p[i]);
}

#define le16 tpa_le16
#define le32 tpa_le32
#define le64 tpa_le64

/* One node's text; returns false when the node is too short for its type. */
static bool node_text(sbuf *b, uint8_t type, uint8_t sub, const uint8_t *d, size_t n)
{
	switch (type << 8 | sub) {
	case 0x0101: /* PCI */
		if (n < 2)
			return false;
		sb_printf(b, "Pci(0x%x,0x%x)", d[1], d[0]);
		return true;
	case 0x0104: /* vendor-defined hardware */
	case 0x030a: /* vendor-defined messaging */
	case 0x0403: /* vendor-defined media */
		if (n < 16)
			return false;
		sb_printf(b, "%s(", type == 1 ? "VenHw" : type == 3 ? "VenMsg" : "VenMedia");
		sb_guid(b, d);
		if (n > 16) {
			sb_printf(b, ",");
			sb_hex(b, d + 16, n - 16);
		}
		sb_printf(b, ")");
		return true;
	case 0x0201: { /* ACPI */
		uint32_t hid, uid;
		if (n < 8)
			return false;
		hid = le32(d);
		uid = le32(d + 4);
		if (hid == 0x0a0341d0 || hid == 0x0a0841d0)
			sb_printf(b, "%s(0x%x)", hid == 0x0a0341d0 ? "PciRoot" : "PcieRoot", uid);
		else
			sb_printf(b, "Acpi(0x%08x,0x%x)", hid, uid);
		return true;
	}
	case 0x0302: /* SCSI */
		if (n < 4)
			return false;
		sb_printf(b, "Scsi(0x%x,0x%x)", le16(d), le16(d + 2));
		return true;
	case 0x0305: /* USB */
		if (n < 2)
			return false;
		sb_printf(b, "USB(0x%x,0x%x)", d[0], d[1]);
		return true;
	case 0x0312: /* SATA */
		if (n < 6)
			return false;
		sb_printf(b, "Sata(0x%x,0x%x,0x%x)", le16(d), le16(d + 2), le16(d + 4));
		return true;
	case 0x0317: /* NVMe namespace */
		if (n < 12)
			return false;
		sb_printf(b, "NVMe(0x%x,", le32(d));
		for (int i = 0; i < 8; i++)
			sb_printf(b, "%s%02X", i ? "-" : "", d[4 + i]);
		sb_printf(b, ")");
		return true;
	case 0x0401: { /* hard drive partition */
		if (n < 38)
			return false;
		uint8_t fmt = d[36], sigtype = d[37];
		sb_printf(b, "HD(%u,", le32(d));
		if (sigtype == 2) {
			sb_printf(b, "GPT,");
			sb_guid(b, d + 20);
		} else if (sigtype == 1) {
			sb_printf(b, "MBR,0x%08x", le32(d + 20));
		} else {
			sb_printf(b, "%u,", sigtype);
			sb_hex(b, d + 20, 16);
		}
		sb_printf(b, ",0x%llx,0x%llx)", (unsigned long long)le64(d + 4),
		          (unsigned long long)le64(d + 12));
		(void)fmt;
		return true;
	}
	case 0x0402: /* CD-ROM */
		if (n < 20)
			return false;
		sb_printf(b, "CDROM(0x%x,0x%llx,0x%llx)", le32(d), (unsigned long long)le64(d + 4),
		          (unsigned long long)le64(d + 12));
		return true;
	case 0x0404: { /* file path */
		char *s = tpa_utf16_to_utf8(d, n);
		if (!s) {
			b->nomem = true;
			return true;
		}
		sb_printf(b, "%s", s);
		free(s);
		return true;
	}
	case 0x0406: /* PIWG firmware file */
	case 0x0407: /* PIWG firmware volume */
		if (n < 16)
			return false;
		sb_printf(b, "%s(", sub == 6 ? "FvFile" : "Fv");
		sb_guid(b, d);
		sb_printf(b, ")");
		return true;
	case 0x0408: /* relative offset range */
		if (n < 20)
			return false;
		sb_printf(b, "Offset(0x%llx,0x%llx)", (unsigned long long)le64(d + 4),
		          (unsigned long long)le64(d + 12));
		return true;
	default:
		sb_printf(b, "Path(%u,%u,", type, sub);
		sb_hex(b, d, n);
		sb_printf(b, ")");
		return true;
	}
}

char *tpa_devpath_to_text(const uint8_t *p, size_t n)
{
	sbuf b = {0};
	tpa_rd r;
	bool first = true;

	tpa_rd_init(&r, p, n);
	sb_printf(&b, "%s", "");
	while (tpa_rd_left(&r) && !b.nomem && !b.full) {
		uint8_t type, sub;
		uint16_t len;
		const uint8_t *d;
		if (!tpa_rd_u8(&r, &type) || !tpa_rd_u8(&r, &sub) || !tpa_rd_u16le(&r, &len) ||
		    len < 4 || !tpa_rd_bytes(&r, (size_t)len - 4, &d)) {
			sb_printf(&b, "%s<malformed>", first ? "" : "/");
			break;
		}
		if (type == 0x7f) {
			if (sub == 0xff)
				break; /* end of the whole path */
			sb_printf(&b, ",");
			first = true;
			continue;
		}
		if (!first)
			sb_printf(&b, "/");
		if (!node_text(&b, type, sub, d, (size_t)len - 4)) {
			sb_printf(&b, "<malformed>");
			break;
		}
		first = false;
	}
	if (b.nomem) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
