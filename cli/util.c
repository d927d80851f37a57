/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

const char *progname = "tpmattest";

void errmsg(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	return EXIT_USAGE;
}

int exit_for(int err)
{
	switch (tpa_err_classify(err)) {
	case TPA_CLASS_OK: return EXIT_OK;
	case TPA_CLASS_VERDICT: return EXIT_NO;
	case TPA_CLASS_USAGE: return EXIT_USAGE;
	case TPA_CLASS_MALFORMED: return EXIT_MALFORMED;
	case TPA_CLASS_ENVIRONMENT: return EXIT_ENV;
	}
	return EXIT_ENV;
}

int read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;
	struct stat st;

	if (fd < 0)
		return TPA_E_IO;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		errno = EISDIR;
		return TPA_E_IO;
	}
	for (;;) {
		ssize_t r;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			uint8_t *nb;
			if (cap > max)
				break;
			if (!(nb = realloc(buf, ncap + 1))) {
				free(buf);
				if (fd != STDIN_FILENO)
					close(fd);
				errno = ENOMEM;
				return TPA_E_NOMEM;
			}
			buf = nb;
			cap = ncap;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			if (fd != STDIN_FILENO)
				close(fd);
			errno = e;
			return TPA_E_IO;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (n > max) {
		free(buf);
		return TPA_E_LIMIT;
	}
	if (!buf && !(buf = malloc(1)))
		return TPA_E_NOMEM;
	buf[n] = 0; /* lets text parsers treat the buffer as a string */
	*out = buf;
	*len = n;
	return TPA_OK;
}

/* fsync of the directory holding path. */
static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, r, e;
	if (!slash) {
		snprintf(dir, sizeof(dir), ".");
	} else if ((size_t)(slash - path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	} else {
		/* "/x" lives in "/" */
		size_t n = slash == path ? 1 : (size_t)(slash - path);
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	r = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

int write_file_atomic(const char *path, const void *data, size_t len)
{
	char tmp[PATH_MAX];
	const uint8_t *p = data;
	int fd, e;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return TPA_E_IO;
	}
	if ((fd = mkstemp(tmp)) < 0)
		return TPA_E_IO;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		p += w;
		len -= (size_t)w;
	}
	if (fchmod(fd, 0644) != 0 || fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	/* The rename is durable only once the directory entry is: until then
	 * a crash may bring the old file back. */
	if (fsync_dir_of(path) != 0)
		return TPA_E_IO;
	return TPA_OK;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return TPA_E_IO;
}

int parse_hex(const char *s, uint8_t **out, size_t *len)
{
	size_t n;
	uint8_t *buf;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	n = strlen(s);
	if (n % 2)
		return TPA_E_MALFORMED;
	if (!(buf = malloc(n / 2 + 1)))
		return TPA_E_NOMEM;
	for (size_t i = 0; i < n / 2; i++) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + (size_t)k];
			int d = c >= '0' && c <= '9'   ? c - '0'
			        : c >= 'a' && c <= 'f' ? c - 'a' + 10
			        : c >= 'A' && c <= 'F' ? c - 'A' + 10
			                               : -1;
			if (d < 0) {
				free(buf);
				return TPA_E_MALFORMED;
			}
			v = v << 4 | d;
		}
		buf[i] = (uint8_t)v;
	}
	*out = buf;
	*len = n / 2;
	return TPA_OK;
}

void print_hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}
