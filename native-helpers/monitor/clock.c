/* Wall-clock time as the CRI log format and the exit file want it: RFC 3339 in UTC with all nine
 * fractional digits (fixed width, so the text sorts like the time). */
#include "monitor.h"

int64_t clock_now_ns(void)
{
	struct __kernel_timespec ts;

	/* CLOCK_REALTIME with a valid pointer cannot fail. */
	if (sys_clock_realtime(&ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void put_digits(char *out, uint64_t v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm, proleptic Gregorian). */
static void civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*day = doy - (153 * mp + 2) / 5 + 1;
	*month = mp < 10 ? mp + 3 : mp - 9;
	*year = (int64_t)yoe + era * 400 + (*month <= 2);
}

size_t format_rfc3339nano(int64_t ns, char out[32])
{
	int64_t secs = ns >= 0 ? ns / 1000000000 : 0;
	uint64_t frac = ns >= 0 ? (uint64_t)(ns % 1000000000) : 0;
	int64_t days = secs / 86400, year;
	unsigned sod = (unsigned)(secs % 86400), month, day;

	civil_from_days(days, &year, &month, &day);
	put_digits(out, (uint64_t)year, 4);
	out[4] = '-';
	put_digits(out + 5, month, 2);
	out[7] = '-';
	put_digits(out + 8, day, 2);
	out[10] = 'T';
	put_digits(out + 11, sod / 3600, 2);
	out[13] = ':';
	put_digits(out + 14, sod / 60 % 60, 2);
	out[16] = ':';
	put_digits(out + 17, sod % 60, 2);
	out[19] = '.';
	put_digits(out + 20, frac, 9);
	out[29] = 'Z';
	out[30] = '\0';
	return 30;
}
