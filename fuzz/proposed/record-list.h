/*
 * PROPOSED additions to src/record.h (see fuzz/proposed/record-list.c).
 * fuzz/run.sh uses these only while src/record.h does not declare
 * record_split_list(); once the functions are moved into src/record.c
 * the harness links the real ones and this directory can go.
 */
#ifndef FUZZ_PROPOSED_RECORD_LIST_H
#define FUZZ_PROPOSED_RECORD_LIST_H

#include <stddef.h>

/*
 * The items of a NUL-separated list payload (REC_COMMANDS,
 * REC_COMPLETIONS) of len bytes, as malloc'd copies, empty items
 * skipped; a missing NUL after the last item is allowed.  Returns a
 * NULL-terminated array (never NULL; { NULL } for no items) and sets *n
 * to the number of items.  Free with record_free_list().
 */
char **record_split_list(const char *data, size_t len, size_t *n);
void record_free_list(char **list);

/*
 * Split, in place, the answers of a REC_SECRETS payload (or the prompts
 * of a REC_ASK) as record_recv() returns it: len bytes followed by a NUL.
 * Empty items are kept (an empty answer is an answer); a trailing NUL
 * ends the last item and does not start a new one.  Stores at most max
 * pointers into data in out and returns how many.
 */
size_t record_split_answers(char *data, size_t len, char **out, size_t max);

#endif
