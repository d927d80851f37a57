/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench-eventlog LOG...: in-process cost of parse + digest verification +
 * replay (+ decoding every event with --decode) per log, in microseconds and
 * MB/s.  A benchmark, not a test: it asserts nothing about time.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tpmattest/eventlog.h>

#include "bench.h"

/* One full pass; returns 0 on success. */
static int once(const uint8_t *buf, size_t len, int decode)
{
	tpa_eventlog *log = NULL;
	tpa_pcrs *p = NULL;
	if (tpa_eventlog_parse(buf, len, &log, NULL) != TPA_OK)
		return -1;
	/* digest verification of every event, in every bank */
	tpa_eventlog_check_digests(log);
	if (tpa_eventlog_replay(log, &p) != TPA_OK) {
		tpa_eventlog_free(&log);
		return -1;
	}
	if (decode)
		for (size_t i = 0; i < tpa_eventlog_count(log); i++) {
			tpa_field *f = NULL;
			if (tpa_event_decode(tpa_eventlog_get(log, i), &f) == TPA_OK)
				tpa_fields_free(&f);
		}
	tpa_pcrs_free(&p);
	tpa_eventlog_free(&log);
	return 0;
}

int main(int argc, char **argv)
{
	int decode = 0, first = 1;
	double total_bytes = 0, total_s = 0;
	if (argc > 1 && strcmp(argv[1], "--decode") == 0) {
		decode = 1;
		first = 2;
	}
	if (argc <= first) {
		fprintf(stderr, "usage: bench-eventlog [--decode] LOG...\n");
		return 2;
	}
	printf("%-44s %8s %7s %10s %8s\n", "log", "bytes", "events", "median_us", "MB/s");
	for (int a = first; a < argc; a++) {
		size_t len = 0, nev = 0;
		uint8_t *buf = bench_slurp(argv[a], &len);
		tpa_eventlog *log = NULL;
		double samples[201];
		int n = 0;
		const char *name = strrchr(argv[a], '/') ? strrchr(argv[a], '/') + 1 : argv[a];
		if (!buf || tpa_eventlog_parse(buf, len, &log, NULL) != TPA_OK) {
			printf("%-44s %8zu  (does not parse: skipped)\n", name, len);
			free(buf);
			continue;
		}
		nev = tpa_eventlog_count(log);
		tpa_eventlog_free(&log);
		for (int w = 0; w < 20; w++) /* warm caches and OpenSSL's fetch */
			once(buf, len, decode);
		/* Each sample times a batch so the clock's resolution does not matter. */
		int batch = len > 20000 ? 20 : 100;
		for (n = 0; n < 201; n++) {
			double t0 = bench_now();
			for (int b = 0; b < batch; b++)
				once(buf, len, decode);
			samples[n] = (bench_now() - t0) / batch;
		}
		qsort(samples, (size_t)n, sizeof(double), bench_cmp_double);
		double med = samples[n / 2];
		printf("%-44s %8zu %7zu %10.1f %8.1f\n", name, len, nev, med * 1e6,
		       (double)len / med / 1e6);
		total_bytes += (double)len;
		total_s += med;
		free(buf);
	}
	if (total_s > 0)
		printf("eventlog: total_bytes=%.0f total_us=%.1f throughput_MBps=%.1f\n",
		       total_bytes, total_s * 1e6, total_bytes / total_s / 1e6);
	return 0;
}
