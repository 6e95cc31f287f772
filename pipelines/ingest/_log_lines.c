/*
 * Cutting a chunk of an access log into lines and, for the everyday line, into its fields,
 * in one pass over the bytes and without copying them: every line and field is returned as
 * an Arrow string view (16 bytes: length, then the bytes themselves when 12 or fewer, else
 * their first 4 bytes and their offset in the chunk).
 *
 * The everyday line is exactly what PLAIN_LINE_PATTERN of access_logs.py matches:
 *
 *   ADDR IDENT USER [dd/Mon/yyyy:hh:mm:ss +zzzz] "METHOD TARGET HTTP/x.y" SSS SIZE[ "REFERRER" "AGENT"]
 *
 * where ADDR, IDENT, USER and TARGET hold no space, quote nor backslash, METHOD is [A-Z][A-Z_-]*,
 * SSS three digits, SIZE `-` or 1 to 18 digits, REFERRER and AGENT no quote nor backslash, and
 * nothing follows. Every field ends at a byte its class excludes, so the pattern matches one
 * way only and a byte-by-byte walk gives its captures. Any other line is left to the careful
 * path (the full expression, in polars). A chunk that is not entirely valid UTF-8 is refused
 * (None): the careful path reads it with replacement characters and tells the bad lines.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum { ADDR, USER, TIME, METHOD, TARGET, PROTOCOL, STATUS, SIZE, REFERRER, AGENT, FIELDS };
#define TIME_WIDTH 26 /* 29/Mar/2020:03:05:00 +0200 */
#define VIEW_BYTES 16
#define INLINE_BYTES 12

typedef struct {
    const unsigned char *start;
    Py_ssize_t length;
} Span;

/* Strict UTF-8 (Unicode 15, table 3-7): no overlong form, no surrogate, nothing above U+10FFFF. */
static int valid_utf8(const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        if (i + 8 <= n) { /* eight ASCII bytes at once, the usual case */
            uint64_t word;
            memcpy(&word, s + i, 8);
            if ((word & 0x8080808080808080ULL) == 0) {
                i += 8;
                continue;
            }
        }
        unsigned char c = s[i];
        if (c < 0x80) {
            i += 1;
        } else if (c >= 0xC2 && c <= 0xDF) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return 0;
            i += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            if (i + 2 >= n) return 0;
            unsigned char d = s[i + 1];
            if (c == 0xE0 && (d < 0xA0 || d > 0xBF)) return 0;
            if (c == 0xED && (d < 0x80 || d > 0x9F)) return 0;
            if ((d & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) return 0;
            i += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            if (i + 3 >= n) return 0;
            unsigned char d = s[i + 1];
            if (c == 0xF0 && (d < 0x90 || d > 0xBF)) return 0;
            if (c == 0xF4 && (d < 0x80 || d > 0x8F)) return 0;
            if ((d & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80) return 0;
            i += 4;
        } else {
            return 0;
        }
    }
    return 1;
}

static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline int is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static inline int is_letter(unsigned char c) { return is_upper(c) || (c >= 'a' && c <= 'z'); }

/* A field of [^ "\\]+ from p, that must end at `end_byte`; returns where it ends, or NULL. */
static const unsigned char *bare_field(const unsigned char *p, const unsigned char *e, unsigned char end_byte) {
    const unsigned char *start = p;
    while (p < e && *p != ' ' && *p != '"' && *p != '\\') p++;
    if (p == start || p >= e || *p != end_byte) return NULL;
    return p;
}

/* A quoted field's inside, [^"\\]*, from p; returns the closing quote's place, or NULL. */
static const unsigned char *quoted_field(const unsigned char *p, const unsigned char *e) {
    while (p < e && *p != '"' && *p != '\\') p++;
    if (p >= e || *p != '"') return NULL;
    return p;
}

/* [0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4} */
static int is_time(const unsigned char *t) {
    static const char shape[] = "99/AAA/9999:99:99:99 S9999";
    for (int i = 0; i < TIME_WIDTH; i++) {
        unsigned char c = t[i];
        switch (shape[i]) {
            case '9': if (!is_digit(c)) return 0; break;
            case 'A': if (!is_letter(c)) return 0; break;
            case 'S': if (c != '+' && c != '-') return 0; break;
            default: if (c != (unsigned char)shape[i]) return 0;
        }
    }
    return 1;
}

/* The fields of an everyday line [s, e), or 0 when the line is not one. */
static int cut_plain(const unsigned char *s, const unsigned char *e, Span *fields) {
    const unsigned char *p = s, *q;
#define FIELD(name, from, to) (fields[name].start = (from), fields[name].length = (to) - (from))
    if (!(q = bare_field(p, e, ' '))) return 0;
    FIELD(ADDR, p, q);
    p = q + 1;
    if (!(q = bare_field(p, e, ' '))) return 0; /* ident, not kept */
    p = q + 1;
    if (!(q = bare_field(p, e, ' '))) return 0;
    FIELD(USER, p, q);
    p = q + 1;
    if (e - p < TIME_WIDTH + 4 || p[0] != '[' || !is_time(p + 1) || p[TIME_WIDTH + 1] != ']' ||
        p[TIME_WIDTH + 2] != ' ' || p[TIME_WIDTH + 3] != '"')
        return 0;
    FIELD(TIME, p + 1, p + 1 + TIME_WIDTH);
    p += TIME_WIDTH + 4;
    q = p;
    if (q >= e || !is_upper(*q)) return 0;
    q++;
    while (q < e && (is_upper(*q) || *q == '_' || *q == '-')) q++;
    if (q >= e || *q != ' ') return 0;
    FIELD(METHOD, p, q);
    p = q + 1;
    if (!(q = bare_field(p, e, ' '))) return 0;
    FIELD(TARGET, p, q);
    p = q + 1;
    if (e - p < 6 || memcmp(p, "HTTP/", 5) != 0) return 0;
    q = p + 5;
    if (!is_digit(*q)) return 0;
    while (q < e && is_digit(*q)) q++;
    if (q < e && *q == '.') {
        q++;
        if (q >= e || !is_digit(*q)) return 0;
        while (q < e && is_digit(*q)) q++;
    }
    if (q >= e || *q != '"') return 0;
    FIELD(PROTOCOL, p, q);
    p = q + 1;
    if (e - p < 6 || p[0] != ' ' || !is_digit(p[1]) || !is_digit(p[2]) || !is_digit(p[3]) || p[4] != ' ') return 0;
    FIELD(STATUS, p + 1, p + 4);
    p += 5;
    q = p;
    if (*q == '-') {
        q++;
    } else {
        while (q < e && is_digit(*q) && q - p < 19) q++;
        if (q == p || q - p > 18) return 0;
    }
    FIELD(SIZE, p, q);
    p = q;
    if (p == e) { /* the common format: no referrer, no agent */
        fields[REFERRER].start = fields[AGENT].start = NULL;
        return 1;
    }
    if (e - p < 2 || p[0] != ' ' || p[1] != '"') return 0;
    p += 2;
    if (!(q = quoted_field(p, e))) return 0;
    FIELD(REFERRER, p, q);
    p = q + 1;
    if (e - p < 2 || p[0] != ' ' || p[1] != '"') return 0;
    p += 2;
    if (!(q = quoted_field(p, e)) || q + 1 != e) return 0;
    FIELD(AGENT, p, q);
    return 1;
#undef FIELD
}

/* An Arrow string view of [start, start + length) of the chunk (buffer 0). */
static inline void write_view(unsigned char *out, const unsigned char *chunk, const unsigned char *start,
                              Py_ssize_t length) {
    int32_t n = (int32_t)length, buffer = 0, offset = (int32_t)(start - chunk);
    memset(out, 0, VIEW_BYTES);
    memcpy(out, &n, 4);
    if (length <= INLINE_BYTES) {
        memcpy(out + 4, start, (size_t)length);
    } else {
        memcpy(out + 4, start, 4);
        memcpy(out + 8, &buffer, 4);
        memcpy(out + 12, &offset, 4);
    }
}

PyDoc_STRVAR(cut_doc,
"cut(chunk) -> None | (lines, line_views, plain, combined, field_views)\n\n"
"Views of every line of a chunk (without its newline and one carriage return before it) and of\n"
"the fields of its everyday lines, or None when the chunk is not valid UTF-8. `plain` and\n"
"`combined` hold one byte per line (1: an everyday line; 1: one with referrer and agent);\n"
"`field_views` holds the views of each field for every line, field after field.");

static PyObject *cut(PyObject *module, PyObject *chunk_object) {
    Py_buffer chunk;
    if (PyObject_GetBuffer(chunk_object, &chunk, PyBUF_SIMPLE) < 0) return NULL;
    const unsigned char *s = chunk.buf, *end = s + chunk.len;
    if (chunk.len > INT32_MAX) {
        PyBuffer_Release(&chunk);
        PyErr_SetString(PyExc_ValueError, "a chunk is at most 2 GiB");
        return NULL;
    }
    if (!valid_utf8(s, chunk.len)) {
        PyBuffer_Release(&chunk);
        Py_RETURN_NONE;
    }
    Py_ssize_t lines = 0;
    for (const unsigned char *p = s; (p = memchr(p, '\n', end - p)) != NULL; p++) lines++;
    if (chunk.len && end[-1] != '\n') lines++;

    PyObject *line_views = PyBytes_FromStringAndSize(NULL, lines * VIEW_BYTES);
    PyObject *plain = PyBytes_FromStringAndSize(NULL, lines);
    PyObject *combined = PyBytes_FromStringAndSize(NULL, lines);
    PyObject *field_views = PyBytes_FromStringAndSize(NULL, lines * FIELDS * VIEW_BYTES);
    if (!line_views || !plain || !combined || !field_views) goto failed;
    unsigned char *lv = (unsigned char *)PyBytes_AS_STRING(line_views);
    unsigned char *pl = (unsigned char *)PyBytes_AS_STRING(plain);
    unsigned char *cb = (unsigned char *)PyBytes_AS_STRING(combined);
    unsigned char *fv = (unsigned char *)PyBytes_AS_STRING(field_views);
    memset(fv, 0, (size_t)(lines * FIELDS * VIEW_BYTES));

    Py_BEGIN_ALLOW_THREADS
    const unsigned char *p = s;
    for (Py_ssize_t line = 0; line < lines; line++) {
        const unsigned char *newline = memchr(p, '\n', end - p);
        const unsigned char *e = newline ? newline : end;
        if (e > p && e[-1] == '\r') e--;
        write_view(lv + line * VIEW_BYTES, s, p, e - p);
        Span fields[FIELDS];
        pl[line] = (unsigned char)cut_plain(p, e, fields);
        cb[line] = pl[line] && fields[REFERRER].start != NULL;
        if (pl[line]) {
            for (int field = 0; field < FIELDS; field++) {
                if (fields[field].start == NULL) continue;
                write_view(fv + (field * lines + line) * VIEW_BYTES, s, fields[field].start, fields[field].length);
            }
        }
        p = newline ? newline + 1 : end;
    }
    Py_END_ALLOW_THREADS

    PyBuffer_Release(&chunk);
    return Py_BuildValue("(nNNNN)", lines, line_views, plain, combined, field_views);

failed:
    Py_XDECREF(line_views);
    Py_XDECREF(plain);
    Py_XDECREF(combined);
    Py_XDECREF(field_views);
    PyBuffer_Release(&chunk);
    return NULL;
}

static PyMethodDef methods[] = {
    {"cut", cut, METH_O, cut_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_log_lines", "Access-log chunks cut into Arrow string views.", -1, methods,
};

PyMODINIT_FUNC PyInit__log_lines(void) { return PyModule_Create(&module); }
