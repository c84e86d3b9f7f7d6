/*
 * at_uuid.h -- UUIDs as 36-character lower-case text.
 */
#ifndef AT_UUID_H
#define AT_UUID_H

#include <stdbool.h>
#include <stddef.h>

#define AT_UUID_LEN 36   /* without the terminating NUL */

/* A random (version 4) UUID from getrandom(2) into out[37]. Thread-safe. Cannot fail: if
 * the kernel offers no random source at all (no getrandom, no /dev/urandom) the process
 * aborts rather than hand out an id that may repeat. */
void at_uuid_v4(char out[AT_UUID_LEN + 1]);

/* A name-based UUID (version 5 layout, SHA-1 of namespace bytes + name) into out[37]:
 * the same inputs always give the same id. Used to derive an event's or a command's id
 * deterministically, e.g. from a source event id and a handler name. Equal to Python's
 * uuid.uuid5(). An ns_uuid that is not a valid UUID (or NULL) counts as the nil UUID, and a
 * NULL name as "", so the result is always defined; pass constants you have checked. */
void at_uuid_derive(const char *ns_uuid, const char *name, char out[AT_UUID_LEN + 1]);

/* True if s is a UUID in 8-4-4-4-12 hex form (either case). */
bool at_uuid_valid(const char *s);

#endif
