/*
 * SipHash-2-4, after the reference implementation: two compression
 * rounds per 8-byte word, four finalization rounds, little-endian words
 * whatever the host.  It owns no key: callers keep theirs (gate.c draws
 * one at start).  Not for anything that needs a MAC longer than 64 bits.
 */
#include "config.h"

#include <stdint.h>

#include "siphash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t
load64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--) {
		v = (v << 8) | p[i];
	}
	return v;
}

static void
sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL(v[1], 13);
	v[1] ^= v[0];
	v[0] = ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = ROTL(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = ROTL(v[1], 17);
	v[1] ^= v[2];
	v[2] = ROTL(v[2], 32);
}

uint64_t
siphash24(const unsigned char key[SIPHASH_KEY_LEN], const void *data,
    size_t len)
{
	const unsigned char *in = data;
	uint64_t k0 = load64(key), k1 = load64(key + 8);
	uint64_t v[4] = {
		k0 ^ 0x736f6d6570736575ULL,
		k1 ^ 0x646f72616e646f6dULL,
		k0 ^ 0x6c7967656e657261ULL,
		k1 ^ 0x7465646279746573ULL,
	};
	uint64_t m, b = (uint64_t)len << 56;
	size_t i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = load64(in + i);
		v[3] ^= m;
		sipround(v);
		sipround(v);
		v[0] ^= m;
	}
	for (size_t j = 0; j < left; j++) {
		b |= (uint64_t)in[i + j] << (8 * j);
	}
	v[3] ^= b;
	sipround(v);
	sipround(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	for (int r = 0; r < 4; r++) {
		sipround(v);
	}
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}
