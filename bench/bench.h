/* SPDX-License-Identifier: BSD-2-Clause */
/* Helpers shared by the C benchmarks. */
#ifndef TPA_BENCH_H
#define TPA_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* out := the median over 101 batches of 20 runs of body (after 20 warm-up
 * runs), in seconds times scale (1e6: microseconds). */
#define BENCH_SAMPLES 101
#define BENCH_BATCH 20
#define BENCH_MEDIAN(out, scale, body)                                      \
	do {                                                                \
		double s_[BENCH_SAMPLES];                                   \
		for (int w_ = 0; w_ < 20; w_++) {                           \
			body;                                               \
		}                                                           \
		for (int i_ = 0; i_ < BENCH_SAMPLES; i_++) {                \
			double t0_ = bench_now();                           \
			for (int b_ = 0; b_ < BENCH_BATCH; b_++) {          \
				body;                                       \
			}                                                   \
			s_[i_] = (bench_now() - t0_) / BENCH_BATCH;         \
		}                                                           \
		qsort(s_, BENCH_SAMPLES, sizeof(double), bench_cmp_double); \
		(out) = s_[BENCH_SAMPLES / 2] * (scale);                    \
	} while (0)

/* A whole file, NUL-terminated; NULL on failure. */
static inline uint8_t *bench_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = 0;
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

#endif
