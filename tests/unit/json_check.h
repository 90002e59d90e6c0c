/*
 * json_check.h: a strict little JSON parser for the profile library's unit tests, to check the
 * JSON form by content rather than by text.
 */
#pragma once

#include "profile.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } JType;
typedef struct JVal {
    JType t;
    bool b;
    uint64_t num;
    char *s;          /* J_STR: decoded UTF-8 */
    GPtrArray *items; /* J_ARR, J_OBJ: JVal* */
    GPtrArray *keys;  /* J_OBJ: char* */
} JVal;

void jfree(gpointer v);
JVal *jparse(const char *text, size_t len);
JVal *jget(const JVal *obj, const char *key);
JVal *jat(const JVal *arr, guint i);
const char *jstr(const JVal *v);

/* The JSON form of p (cflow_profile_write_json into memory); its length goes to *len */
char *json_of(const CflowProfile *p, size_t *len);
/* text (len bytes) holds exactly what p holds, field by field */
void check_json_content(const CflowProfile *p, const char *text, size_t len);
