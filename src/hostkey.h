/*
 * The server's ed25519 host key: made on first start (mode 0600),
 * reused afterwards, refused when its file mode is too open.
 */
#ifndef HOSTKEY_H
#define HOSTKEY_H

#include <stddef.h>

/*
 * Make sure path holds a usable private key: generate one if the file
 * does not exist.  Writes the SHA256 fingerprint to fp.  Returns -1 with
 * a message in err.
 */
int hostkey_ensure(const char *path, char *fp, size_t fplen, char *err,
    size_t errlen);

#endif
