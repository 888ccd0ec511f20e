/*
 * Host key handling.  The key is read and checked before any client is
 * served; a key file with group or other permission bits, or one that
 * does not parse, stops the daemon with a clear message instead of being
 * replaced.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "hostkey.h"

static int
fingerprint(ssh_key key, char *fp, size_t fplen, char *err, size_t errlen)
{
	ssh_key pub = NULL;
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *s;

	if (ssh_pki_export_privkey_to_pubkey(key, &pub) != SSH_OK ||
	    ssh_get_publickey_hash(pub, SSH_PUBLICKEY_HASH_SHA256, &hash,
	    &hlen) != 0) {
		ssh_key_free(pub);
		snprintf(err, errlen, "cannot compute the key fingerprint");
		return -1;
	}
	s = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
	snprintf(fp, fplen, "%s", s != NULL ? s : "?");
	ssh_string_free_char(s);
	ssh_clean_pubkey_hash(&hash);
	ssh_key_free(pub);
	return 0;
}

static int
generate(const char *path, char *err, size_t errlen)
{
	ssh_key key = NULL;
	char *tmp = NULL;
	int fd, rc = -1;

	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK) {
		snprintf(err, errlen, "cannot generate an ed25519 key");
		return -1;
	}
	if (asprintf(&tmp, "%s.new", path) < 0) {
		ssh_key_free(key);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Create the file 0600 ourselves so it is never readable by others. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	if (ssh_pki_export_privkey_file(key, NULL, NULL, NULL, tmp) !=
	    SSH_OK) {
		snprintf(err, errlen, "%s: cannot write the host key", tmp);
		unlink(tmp);
		goto out;
	}
	if (chmod(tmp, 0600) < 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	ssh_key_free(key);
	return rc;
}

int
hostkey_ensure(const char *path, char *fp, size_t fplen, char *err,
    size_t errlen)
{
	struct stat st;
	ssh_key key = NULL;
	int rc;

	if (stat(path, &st) < 0) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		if (generate(path, err, errlen) < 0) {
			return -1;
		}
		if (stat(path, &st) < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen,
		    "%s: mode %04o is too open; the host key must not be "
		    "accessible by others (chmod 600 %s)",
		    path, (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &key) !=
	    SSH_OK) {
		snprintf(err, errlen,
		    "%s: not a readable private key (remove it to make a new "
		    "one)", path);
		return -1;
	}
	rc = fingerprint(key, fp, fplen, err, errlen);
	ssh_key_free(key);
	return rc;
}
