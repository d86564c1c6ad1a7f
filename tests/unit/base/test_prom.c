/* test_prom.c - the Prometheus text writers (base/prom.h). */
#include "base/prom.h"
#include "harness/t.h"

TEST(prom_sample_and_histogram_text)
{
	struct buf b;
	buf_init(&b);
	prom_sample(&b, "x_total", "counter", "Things.", 3);
	ASSERT_STR_EQ(b.data, "# HELP x_total Things.\n# TYPE x_total counter\nx_total 3\n");
	buf_reset(&b);
	static const double le[] = {0.5, 1};
	static const unsigned long long cum[] = {1, 2};
	prom_hist(&b, "d_seconds", "", le, cum, 2, 1.25, 3);
	ASSERT_STR_EQ(b.data,
		      "d_seconds_bucket{le=\"0.5\"} 1\nd_seconds_bucket{le=\"1\"} 2\n"
		      "d_seconds_bucket{le=\"+Inf\"} 3\nd_seconds_sum 1.250000000\nd_seconds_count 3\n");
	buf_reset(&b);
	prom_hist(&b, "d_seconds", "k=\"v\"", le, cum, 1, 0, 1);
	ASSERT_STR_EQ(b.data,
		      "d_seconds_bucket{k=\"v\",le=\"0.5\"} 1\nd_seconds_bucket{k=\"v\",le=\"+Inf\"} 1\n"
		      "d_seconds_sum{k=\"v\"} 0.000000000\nd_seconds_count{k=\"v\"} 1\n");
	buf_fini(&b);
}
