/*
 * SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash, so
 * that whoever chooses the input cannot choose where it lands in a hash
 * table without knowing the key.
 */
#ifndef SIPHASH_H
#define SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

uint64_t siphash24(const unsigned char key[SIPHASH_KEY_LEN],
    const void *data, size_t len);

#endif
