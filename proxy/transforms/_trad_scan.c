/* The markup step of the trad transform in one pass each way: an optional accelerator.
 *
 * trad_markup.py holds the reference implementation and its reasoning; this module does the same work
 * without building a Python list element per tag and text piece, which is where that implementation
 * spends its time (several passes over the whole page).  Both are held to identical output by the tests
 * (tests/test_trad_scan.py), and A11Y_PROXY_NO_EXTENSIONS=1 selects the reference.
 *
 *   scan(markup, separator, skip_start, skip_end, readable_spans) -> (stream, plan)
 *       stream: every run of text (the text pieces of a chunk between breaks, when the chunk has non-ASCII
 *       characters), then every readable attribute value, separated; the same string, in the same order,
 *       as the reference builds.  readable_spans(tag) is called for the few tags that need a full
 *       attribute parse (<meta>, <input>, <textarea>, tags holding a single quote).
 *   splice(plan, converted, map_runs) -> page
 *       the markup with each text piece and value replaced by its share of `converted`.  The runs whose
 *       length changed are cut by map_runs([(sources, converted run), ...]), the reference's map_back_all.
 *
 * The input is always our own serializer's output (lxml/libxml2; see trad_markup's docstring): tags are
 * well formed, "<" is escaped in text and attribute values, comments hold no "<", and tag names are
 * lower case.  Indexes are code points, as in Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* trad_markup.BLOCK_TAGS, sorted: grouped by first letter (test_trad_scan checks the two lists agree). */
static const char *BLOCK_TAGS[] = {
    "address", "area", "article", "aside", "audio", "blockquote", "body", "br", "button", "canvas",
    "caption", "center", "col", "colgroup", "dd", "details", "dialog", "dir", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "frame", "frameset", "h1", "h2", "h3", "h4",
    "h5", "h6", "head", "header", "hgroup", "hr", "html", "iframe", "img", "input", "legend", "li",
    "main", "map", "marquee", "menu", "nav", "noscript", "object", "ol", "optgroup", "option", "p",
    "pre", "section", "select", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "title",
    "tr", "ul", "video",
};
#define N_BLOCK_TAGS (sizeof(BLOCK_TAGS) / sizeof(BLOCK_TAGS[0]))
/* trad_markup.RAW_TEXT_TAGS */
static const char *RAW_TEXT_TAGS[] = {"script", "style", "textarea", "xmp", "noembed", "noframes"};
/* trad_markup.TEXT_ATTRIBUTES */
static const char *TEXT_ATTRIBUTES[] = {
    "title", "alt", "placeholder", "aria-label", "aria-description", "aria-roledescription",
    "aria-valuetext", "summary", "label", "abbr",
};
/* trad_markup._NO_READABLE_ATTRIBUTES and _PARSED_WHOLE */
static const char *NO_READABLE[] = {"</", "<!", "<script", "<style", "<xmp", "<noembed", "<noframes"};
static const char *PARSED_WHOLE[] = {"<meta", "<input", "<textarea"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    Py_ssize_t *items; /* groups of `width` numbers */
    Py_ssize_t count, capacity, width;
} Table;

static int table_add(Table *t, Py_ssize_t a, Py_ssize_t b, Py_ssize_t c, Py_ssize_t d) {
    if (t->count == t->capacity) {
        Py_ssize_t capacity = t->capacity ? t->capacity * 2 : 256;
        Py_ssize_t *items = PyMem_Realloc(t->items, (size_t)(capacity * t->width) * sizeof(Py_ssize_t));
        if (!items) {
            PyErr_NoMemory();
            return -1;
        }
        t->items = items;
        t->capacity = capacity;
    }
    Py_ssize_t *row = t->items + t->count * t->width, values[4] = {a, b, c, d};
    for (Py_ssize_t k = 0; k < t->width; k++) row[k] = values[k]; /* (a call to memcpy cost more than this) */
    t->count++;
    return 0;
}

/* What scan() finds, kept for splice(). */
typedef struct {
    PyObject *markup, *separator;
    Table pieces;      /* start, end, run, offset in the run's text: every text piece of a converted run */
    Table runs;        /* index of the run's first piece, number of pieces, length of its text */
    Table values;      /* start, end, segment: readable attribute values, in markup order */
    Py_ssize_t segments; /* runs + values */
} Plan;

static void plan_delete(Plan *plan) {
    Py_XDECREF(plan->markup);
    Py_XDECREF(plan->separator);
    PyMem_Free(plan->pieces.items);
    PyMem_Free(plan->runs.items);
    PyMem_Free(plan->values.items);
    PyMem_Free(plan);
}

static void plan_free(PyObject *capsule) {
    Plan *plan = PyCapsule_GetPointer(capsule, "a11y-proxy trad plan");
    if (plan) plan_delete(plan);
}

/* The page as UCS-4: one copy up front costs less than a kind switch on every character read. */
typedef struct {
    const Py_UCS4 *data;
    Py_ssize_t length;
} Text;

#define AT(t, i) ((t)->data[i])

static int starts_with(const Text *t, Py_ssize_t i, const char *ascii) {
    for (; *ascii; ascii++, i++)
        if (i >= t->length || AT(t, i) != (Py_UCS4)(unsigned char)*ascii) return 0;
    return 1;
}

static int starts_with_any(const Text *t, Py_ssize_t i, const char **list, size_t n) {
    for (size_t k = 0; k < n; k++)
        if (starts_with(t, i, list[k])) return 1;
    return 0;
}

static int is_word(Py_UCS4 c) { return c == '_' || Py_UNICODE_ISALNUM(c); }

/* The page is UCS-4, and so is wchar_t where it is 32 bits wide (Linux, macOS): then the C library's wmemchr
 * (vectorized) finds a character, several times faster than a loop reading one at a time. */
static Py_ssize_t find_char_before(const Text *t, Py_ssize_t from, Py_ssize_t to, Py_UCS4 c) {
    if (from >= to) return -1;
#if WCHAR_MAX >= 0x10FFFF
    if (sizeof(wchar_t) == sizeof(Py_UCS4)) {
        const wchar_t *found = wmemchr((const wchar_t *)t->data + from, (wchar_t)c, (size_t)(to - from));
        return found ? (Py_ssize_t)(found - (const wchar_t *)t->data) : -1;
    }
#endif
    for (Py_ssize_t i = from; i < to; i++)
        if (AT(t, i) == c) return i;
    return -1;
}

static Py_ssize_t find_char(const Text *t, Py_ssize_t from, Py_UCS4 c) { return find_char_before(t, from, t->length, c); }

static int non_ascii(const Text *t, Py_ssize_t a, Py_ssize_t b) {
    Py_UCS4 any = 0; /* (no early exit: the compiler vectorizes the loop, faster on text of any length) */
    for (Py_ssize_t i = a; i < b; i++) any |= AT(t, i);
    return any > 127;
}

/* Where each letter's block tags start in BLOCK_TAGS (sorted), and every tag's length, filled by the module's
 * init: a "<" is checked against the few tags of its first letter, lengths first, instead of by bsearch
 * (strcmp was a tenth of the scan). */
static size_t block_first[27];
static size_t block_length[N_BLOCK_TAGS];

static void index_block_tags(void) {
    size_t k = 0;
    for (int letter = 0; letter < 26; letter++) {
        block_first[letter] = k;
        while (k < N_BLOCK_TAGS && BLOCK_TAGS[k][0] == 'a' + letter) k++;
    }
    block_first[26] = k;
    for (k = 0; k < N_BLOCK_TAGS; k++) block_length[k] = strlen(BLOCK_TAGS[k]);
}

static int is_block_tag(const char *name, size_t n) {
    if (name[0] < 'a' || name[0] > 'z') return 0;
    for (size_t k = block_first[name[0] - 'a']; k < block_first[name[0] - 'a' + 1]; k++)
        if (block_length[k] == n && memcmp(BLOCK_TAGS[k], name, n) == 0) return 1;
    return 0;
}

/* Where the break starting at `i` (a "<") ends, or -1: trad_markup._BREAK, which is
 *   a block tag (start or end), to its ">";
 *   a raw-text element, from its start tag to its end tag;
 *   a skipped subtree, from the start marker to the end marker. */
static Py_ssize_t break_end(const Text *t, PyObject *markup, Py_ssize_t i, PyObject *skip_start,
                            PyObject *skip_end, PyObject **raw_ends) {
    Py_ssize_t j = i + 1;
    if (j < t->length && AT(t, j) == '/') j++;
    char name[16];
    Py_ssize_t n = 0;
    for (; j + n < t->length && n < 15; n++) {
        Py_UCS4 c = AT(t, j + n);
        if (c == '/' || c == '>' || Py_UNICODE_ISSPACE(c) || c > 127) break;
        name[n] = (char)c;
    }
    name[n] = 0;
    if (n && j + n < t->length) {
        Py_UCS4 next = AT(t, j + n);
        if ((next == '/' || next == '>' || Py_UNICODE_ISSPACE(next)) &&
            is_block_tag(name, (size_t)n)) {
            Py_ssize_t end = find_char(t, j + n, '>');
            return end < 0 ? -1 : end + 1;
        }
    }
    Py_UCS4 first = i + 1 < t->length ? AT(t, i + 1) : 0;
    for (size_t k = 0; k < COUNT(RAW_TEXT_TAGS); k++) {
        if (first != (Py_UCS4)(unsigned char)RAW_TEXT_TAGS[k][0]) continue; /* (most "<" end here) */
        size_t len = strlen(RAW_TEXT_TAGS[k]);
        if (!starts_with(t, i + 1, RAW_TEXT_TAGS[k])) continue;
        Py_ssize_t after = i + 1 + (Py_ssize_t)len;
        if (after < t->length && is_word(AT(t, after))) return -1; /* \b */
        Py_ssize_t open_end = find_char(t, after, '>');
        if (open_end < 0) return -1;
        Py_ssize_t close = PyUnicode_Find(markup, raw_ends[k], open_end + 1, t->length, 1);
        if (close < 0) return close == -2 ? -2 : -1;
        return close + PyUnicode_GET_LENGTH(raw_ends[k]);
    }
    if ((PyUnicode_GET_LENGTH(skip_start) < 2 || first == PyUnicode_READ_CHAR(skip_start, 1)) &&
        PyUnicode_Tailmatch(markup, skip_start, i, t->length, -1) == 1) {
        Py_ssize_t close = PyUnicode_Find(markup, skip_end, i + PyUnicode_GET_LENGTH(skip_start), t->length, 1);
        if (close < 0) return close == -2 ? -2 : -1;
        return close + PyUnicode_GET_LENGTH(skip_end);
    }
    return -1;
}

/* Where the inline tag or comment starting at `i` ends, or -1 (a bare "<"): trad_markup._TAG. */
static Py_ssize_t tag_end(const Text *t, PyObject *markup, Py_ssize_t i, PyObject *comment_end) {
    if (starts_with(t, i, "<!--")) {
        Py_ssize_t close = PyUnicode_Find(markup, comment_end, i + 4, t->length, 1);
        if (close == -2) return -2;
        if (close >= 0) return close + 3;
    }
    Py_ssize_t end = find_char(t, i + 1, '>');
    return end < 0 ? -1 : end + 1;
}

/* The values of a start tag's readable attributes.  Most tags: each ' name="value"' with a readable name
 * (trad_markup._READABLE_VALUE; lxml double-quotes values, so the pattern cannot start inside one).  The
 * others go to the reference's readable_spans. */
typedef struct {
    Table joined, parsed; /* start, end */
} Values;

static int tag_values(const Text *t, PyObject *markup, Py_ssize_t start, Py_ssize_t end, Values *out,
                      PyObject *readable_spans) {
    if (starts_with_any(t, start, NO_READABLE, COUNT(NO_READABLE)) || !non_ascii(t, start, end)) return 0;
    if (find_char_before(t, start, end, '\'') >= 0) goto parse_whole;
    if (starts_with_any(t, start, PARSED_WHOLE, COUNT(PARSED_WHOLE))) goto parse_whole;
    for (Py_ssize_t i = start; i < end; i++) {
        if (AT(t, i) != ' ') continue;
        for (size_t k = 0; k < COUNT(TEXT_ATTRIBUTES); k++) {
            const char *name = TEXT_ATTRIBUTES[k];
            if (i + 1 >= t->length || AT(t, i + 1) != (Py_UCS4)(unsigned char)name[0]) continue;
            Py_ssize_t value = i + 1 + (Py_ssize_t)strlen(name) + 2;
            if (!starts_with(t, i + 1, name) || !starts_with(t, value - 2, "=\"")) continue;
            Py_ssize_t close = find_char_before(t, value, end, '"');
            if (close < 0) break;
            if (table_add(&out->joined, value, close, 0, 0) < 0) return -1;
            i = close;
            break;
        }
    }
    return 0;

parse_whole:;
    Py_ssize_t parse_end = end;
    if (starts_with(t, start, "<textarea")) /* its content is submitted back; only the start tag is read */
        parse_end = find_char(t, start, '>') + 1;
    PyObject *tag = PyUnicode_Substring(markup, start, parse_end);
    if (!tag) return -1;
    PyObject *spans = PyObject_CallOneArg(readable_spans, tag);
    Py_DECREF(tag);
    if (!spans) return -1;
    PyObject *iterator = PyObject_GetIter(spans);
    Py_DECREF(spans);
    if (!iterator) return -1;
    PyObject *span;
    while ((span = PyIter_Next(iterator))) {
        Py_ssize_t a, b;
        int ok = PyArg_ParseTuple(span, "nn", &a, &b);
        Py_DECREF(span);
        if (!ok || table_add(&out->parsed, start + a, start + b, 0, 0) < 0) {
            Py_DECREF(iterator);
            return -1;
        }
    }
    Py_DECREF(iterator);
    return PyErr_Occurred() ? -1 : 0;
}

static int compare_values(const void *a, const void *b) {
    Py_ssize_t x = ((const Py_ssize_t *)a)[0], y = ((const Py_ssize_t *)b)[0];
    return (x > y) - (x < y);
}

/* A new string as one of exactly the narrowest kind that holds it (CPython compares strings kind first). */
static PyObject *narrowed(PyObject *page) {
    int kind = PyUnicode_KIND(page);
    const void *data = PyUnicode_DATA(page);
    Py_ssize_t length = PyUnicode_GET_LENGTH(page);
    Py_UCS4 floor = kind == PyUnicode_1BYTE_KIND ? 0x7f : kind == PyUnicode_2BYTE_KIND ? 0xff : 0xffff;
    for (Py_ssize_t i = 0; i < length; i++)
        if (PyUnicode_READ(kind, data, i) > floor) return page; /* usually found within the first lines */
    PyObject *copy = PyUnicode_FromKindAndData(kind, data, length);
    Py_DECREF(page);
    return copy;
}

static PyObject *scan(PyObject *self, PyObject *args) {
    PyObject *markup, *separator, *skip_start, *skip_end, *readable_spans;
    if (!PyArg_ParseTuple(args, "UUUUO:scan", &markup, &separator, &skip_start, &skip_end, &readable_spans))
        return NULL;
    Py_UCS4 *ucs4 = PyUnicode_AsUCS4Copy(markup);
    if (!ucs4) return NULL;
    Text t = {ucs4, PyUnicode_GET_LENGTH(markup)};
    PyObject *raw_ends[COUNT(RAW_TEXT_TAGS)] = {0}, *comment_end = PyUnicode_FromString("-->");
    PyObject *result = NULL, *capsule = NULL, *stream = NULL;
    Table stream_spans = {0, 0, 0, 2}; /* start, end in the markup; start -1: a separator */
    Plan *plan = PyMem_Calloc(1, sizeof(Plan));
    Values break_values = {{0, 0, 0, 2}, {0, 0, 0, 2}}, inline_values = {{0, 0, 0, 2}, {0, 0, 0, 2}};
    Table chunk_pieces = {0, 0, 0, 2}, chunk_tags = {0, 0, 0, 2};
    if (!plan || !comment_end) goto done;
    plan->pieces.width = 4;
    plan->runs.width = 3;
    plan->values.width = 3;
    for (size_t k = 0; k < COUNT(RAW_TEXT_TAGS); k++)
        if (!(raw_ends[k] = PyUnicode_FromFormat("</%s>", RAW_TEXT_TAGS[k]))) goto done;

    Py_ssize_t text_start = 0, i = 0;
    int chunk_non_ascii = 0;
    for (;;) {
        /* Next "<", noting non-ASCII text on the way. */
        Py_ssize_t next = find_char(&t, i, '<');
        if (next < 0) next = t.length;
        if (!chunk_non_ascii && non_ascii(&t, i, next)) chunk_non_ascii = 1;
        i = next;
        Py_ssize_t end = i < t.length ? break_end(&t, markup, i, skip_start, skip_end, raw_ends) : -1;
        if (end == -2) goto done;
        if (i >= t.length || end >= 0) {
            /* The chunk ends here: its last text piece, then (if it has non-ASCII) it becomes a run. */
            if (table_add(&chunk_pieces, text_start, i < t.length ? i : t.length, 0, 0) < 0) goto done;
            if (chunk_non_ascii) {
                Py_ssize_t run = plan->runs.count, first = plan->pieces.count, offset = 0;
                if (run && table_add(&stream_spans, -1, 0, 0, 0) < 0) goto done;
                for (Py_ssize_t k = 0; k < chunk_pieces.count; k++) {
                    Py_ssize_t a = chunk_pieces.items[2 * k], b = chunk_pieces.items[2 * k + 1];
                    if (table_add(&plan->pieces, a, b, run, offset) < 0) goto done;
                    if (b > a && table_add(&stream_spans, a, b, 0, 0) < 0) goto done;
                    offset += b - a;
                }
                if (table_add(&plan->runs, first, chunk_pieces.count, offset, 0) < 0) goto done;
                for (Py_ssize_t k = 0; k < chunk_tags.count; k++)
                    if (tag_values(&t, markup, chunk_tags.items[2 * k], chunk_tags.items[2 * k + 1],
                                   &inline_values, readable_spans) < 0)
                        goto done;
            }
            chunk_pieces.count = chunk_tags.count = 0;
            if (i >= t.length) break;
            if (tag_values(&t, markup, i, end, &break_values, readable_spans) < 0) goto done;
            text_start = i = end;
            chunk_non_ascii = 0;
            continue;
        }
        end = tag_end(&t, markup, i, comment_end);
        if (end == -2) goto done;
        if (end < 0) { /* a bare "<": text (never in our serializer's output) */
            i++;
            continue;
        }
        if (!chunk_non_ascii && non_ascii(&t, i, end)) chunk_non_ascii = 1;
        if (table_add(&chunk_pieces, text_start, i, 0, 0) < 0 || table_add(&chunk_tags, i, end, 0, 0) < 0)
            goto done;
        text_start = i = end;
    }

    /* The values follow the runs in the reference's order: those read by the pattern (block tags, then
     * inline tags), then those read by the full parse (likewise). */
    Table *groups[] = {&break_values.joined, &inline_values.joined, &break_values.parsed, &inline_values.parsed};
    Py_ssize_t segment = plan->runs.count;
    for (size_t g = 0; g < COUNT(groups); g++) {
        for (Py_ssize_t k = 0; k < groups[g]->count; k++, segment++) {
            Py_ssize_t a = groups[g]->items[2 * k], b = groups[g]->items[2 * k + 1];
            if (segment && table_add(&stream_spans, -1, 0, 0, 0) < 0) goto done;
            if (table_add(&stream_spans, a, b, 0, 0) < 0) goto done;
            if (table_add(&plan->values, a, b, segment, 0) < 0) goto done;
        }
    }
    plan->segments = segment;
    if (plan->values.count)
        qsort(plan->values.items, (size_t)plan->values.count, 3 * sizeof(Py_ssize_t), compare_values);

    /* The stream, copied span by span into one string. */
    Py_ssize_t total = 0, at = 0;
    for (Py_ssize_t k = 0; k < stream_spans.count; k++) {
        const Py_ssize_t *span = stream_spans.items + 2 * k;
        total += span[0] < 0 ? 1 : span[1] - span[0];
    }
    stream = PyUnicode_New(total, Py_MAX(PyUnicode_MAX_CHAR_VALUE(markup), PyUnicode_MAX_CHAR_VALUE(separator)));
    if (!stream) goto done;
    for (Py_ssize_t k = 0; k < stream_spans.count; k++) {
        const Py_ssize_t *span = stream_spans.items + 2 * k;
        int copied = span[0] < 0 ? (int)PyUnicode_CopyCharacters(stream, at, separator, 0, 1)
                                 : (int)PyUnicode_CopyCharacters(stream, at, markup, span[0], span[1] - span[0]);
        if (copied < 0) goto done;
        at += span[0] < 0 ? 1 : span[1] - span[0];
    }
    if (!(stream = narrowed(stream))) goto done;
    plan->markup = Py_NewRef(markup);
    plan->separator = Py_NewRef(separator);
    capsule = PyCapsule_New(plan, "a11y-proxy trad plan", plan_free);
    if (!capsule) goto done;
    plan = NULL; /* the capsule owns it now */
    result = PyTuple_Pack(2, stream, capsule);

done:
    if (plan) plan_delete(plan);
    Py_XDECREF(capsule);
    for (size_t k = 0; k < COUNT(RAW_TEXT_TAGS); k++) Py_XDECREF(raw_ends[k]);
    Py_XDECREF(comment_end);
    Py_XDECREF(stream);
    PyMem_Free(stream_spans.items);
    PyMem_Free(break_values.joined.items);
    PyMem_Free(break_values.parsed.items);
    PyMem_Free(inline_values.joined.items);
    PyMem_Free(inline_values.parsed.items);
    PyMem_Free(chunk_pieces.items);
    PyMem_Free(chunk_tags.items);
    PyMem_Free(ucs4);
    return result;
}

/* One replacement: `length` characters of `source` from `start`. */
typedef struct {
    PyObject *source;
    Py_ssize_t start, length;
} Piece;

/* Segment k of the converted stream runs from bounds[k] to bounds[k + 1] - 1 (its separator). */
static Py_ssize_t segment_length(const Py_ssize_t *bounds, Py_ssize_t k) { return bounds[k + 1] - 1 - bounds[k]; }

/* Whether a run came back from OpenCC as long as it went (the usual case: every piece keeps its span). */
static int kept_length(const Plan *plan, const Py_ssize_t *bounds, Py_ssize_t run) {
    return segment_length(bounds, run) == plan->runs.items[3 * run + 2];
}

/* The runs whose length changed (s2twp: U盘 -> 隨身碟) are cut by the reference's Python, all of them in one
 * call: map_runs([(sources, converted run), ...]) -> one list of strings per run, one string per piece. */
static int cut_changed_runs(const Plan *plan, PyObject *converted, const Py_ssize_t *bounds, PyObject *map_runs,
                            PyObject **cut, Py_UCS4 *widest) {
    const Py_ssize_t *pieces = plan->pieces.items, *runs = plan->runs.items;
    PyObject *jobs = PyList_New(0), *answers = NULL;
    int status = -1;
    if (!jobs) return -1;
    for (Py_ssize_t run = 0; run < plan->runs.count; run++) {
        if (kept_length(plan, bounds, run)) continue;
        Py_ssize_t first = runs[3 * run], count = runs[3 * run + 1];
        PyObject *sources = PyList_New(count), *whole = NULL, *job = NULL;
        if (!sources) goto done;
        for (Py_ssize_t k = 0; k < count; k++) {
            const Py_ssize_t *piece = pieces + 4 * (first + k);
            PyObject *source = PyUnicode_Substring(plan->markup, piece[0], piece[1]);
            if (!source) {
                Py_DECREF(sources);
                goto done;
            }
            PyList_SET_ITEM(sources, k, source);
        }
        whole = PyUnicode_Substring(converted, bounds[run], bounds[run] + segment_length(bounds, run));
        job = whole ? PyTuple_Pack(2, sources, whole) : NULL;
        Py_DECREF(sources);
        Py_XDECREF(whole);
        if (!job || PyList_Append(jobs, job) < 0) {
            Py_XDECREF(job);
            goto done;
        }
        Py_DECREF(job);
    }
    if (PyList_GET_SIZE(jobs) == 0) {
        status = 0;
        goto done;
    }
    answers = PyObject_CallOneArg(map_runs, jobs);
    if (!answers) goto done;
    if (!PyList_Check(answers) || PyList_GET_SIZE(answers) != PyList_GET_SIZE(jobs)) {
        PyErr_SetString(PyExc_ValueError, "map_runs must return one list per run");
        goto done;
    }
    Py_ssize_t job_index = 0;
    for (Py_ssize_t run = 0; run < plan->runs.count; run++) {
        if (kept_length(plan, bounds, run)) continue;
        PyObject *answer = PyList_GET_ITEM(answers, job_index++);
        if (!PyList_Check(answer) || PyList_GET_SIZE(answer) != runs[3 * run + 1]) {
            PyErr_SetString(PyExc_ValueError, "map_runs must return one string per source piece");
            goto done;
        }
        for (Py_ssize_t k = 0; k < PyList_GET_SIZE(answer); k++) {
            if (!PyUnicode_Check(PyList_GET_ITEM(answer, k))) {
                PyErr_SetString(PyExc_TypeError, "map_runs must return strings");
                goto done;
            }
            *widest = Py_MAX(*widest, PyUnicode_MAX_CHAR_VALUE(PyList_GET_ITEM(answer, k)));
        }
        cut[run] = Py_NewRef(answer);
    }
    status = 0;
done:
    Py_XDECREF(answers);
    Py_DECREF(jobs);
    return status;
}

static PyObject *splice(PyObject *self, PyObject *args) {
    PyObject *capsule, *converted, *map_runs;
    if (!PyArg_ParseTuple(args, "OUO:splice", &capsule, &converted, &map_runs)) return NULL;
    Plan *plan = PyCapsule_GetPointer(capsule, "a11y-proxy trad plan");
    if (!plan) return NULL;

    /* Where each segment of the converted stream starts and ends. */
    int kind = PyUnicode_KIND(converted);
    const void *data = PyUnicode_DATA(converted);
    Py_ssize_t length = PyUnicode_GET_LENGTH(converted);
    Py_UCS4 separator = PyUnicode_READ_CHAR(plan->separator, 0);
    Py_ssize_t count = plan->segments > 0 ? plan->segments : 1;
    Py_ssize_t items = plan->pieces.count + plan->values.count;
    Py_ssize_t *bounds = PyMem_Malloc((size_t)(count + 1) * sizeof(Py_ssize_t));
    PyObject **cut = PyMem_Calloc((size_t)(plan->runs.count + 1), sizeof(PyObject *));
    Piece *out = PyMem_Malloc((size_t)(2 * items + 1) * sizeof(Piece));
    PyObject *result = NULL;
    if (!bounds || !cut || !out) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t found = 0;
    bounds[0] = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        if (PyUnicode_READ(kind, data, i) != separator) continue;
        if (++found >= count) break;
        bounds[found] = i + 1;
    }
    if (found + 1 != count) { /* OpenCC keeps every separator; never risk misplacing text */
        PyErr_SetString(PyExc_ValueError, "OpenCC changed the number of runs");
        goto done;
    }
    bounds[count] = length + 1;

    Py_UCS4 widest = Py_MAX(PyUnicode_MAX_CHAR_VALUE(plan->markup), PyUnicode_MAX_CHAR_VALUE(converted));
    if (cut_changed_runs(plan, converted, bounds, map_runs, cut, &widest) < 0) goto done;

    /* The page as a list of spans: markup kept, and each replacement, pieces and values merged in markup
     * order.  Then its length and widest character are known, and it is copied into one new string. */
    Py_ssize_t n = 0, total = 0, taken = 0, p = 0, v = 0;
    const Py_ssize_t *pieces = plan->pieces.items, *runs = plan->runs.items, *values = plan->values.items;
    while (p < plan->pieces.count || v < plan->values.count) {
        int piece = v >= plan->values.count || (p < plan->pieces.count && pieces[4 * p] < values[3 * v]);
        Py_ssize_t start = piece ? pieces[4 * p] : values[3 * v], end = piece ? pieces[4 * p + 1] : values[3 * v + 1];
        if (start > taken) out[n++] = (Piece){plan->markup, taken, start - taken};
        taken = end;
        if (!piece) {
            Py_ssize_t segment = values[3 * v++ + 2];
            out[n++] = (Piece){converted, bounds[segment], segment_length(bounds, segment)};
            continue;
        }
        Py_ssize_t run = pieces[4 * p + 2], offset = pieces[4 * p + 3], index = p++ - runs[3 * run];
        if (kept_length(plan, bounds, run)) {
            out[n++] = (Piece){converted, bounds[run] + offset, end - start};
            continue;
        }
        PyObject *share = PyList_GET_ITEM(cut[run], index);
        out[n++] = (Piece){share, 0, PyUnicode_GET_LENGTH(share)};
    }
    Py_ssize_t markup_length = PyUnicode_GET_LENGTH(plan->markup);
    if (taken < markup_length) out[n++] = (Piece){plan->markup, taken, markup_length - taken};
    for (Py_ssize_t k = 0; k < n; k++) total += out[k].length;

    result = PyUnicode_New(total, widest);
    if (!result) goto done;
    Py_ssize_t at = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (!out[k].length) continue;
        if (PyUnicode_CopyCharacters(result, at, out[k].source, out[k].start, out[k].length) < 0) {
            Py_CLEAR(result);
            goto done;
        }
        at += out[k].length;
    }
    result = narrowed(result);

done:
    if (cut)
        for (Py_ssize_t k = 0; k < plan->runs.count; k++) Py_XDECREF(cut[k]);
    PyMem_Free(cut);
    PyMem_Free(bounds);
    PyMem_Free(out);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, "scan(markup, separator, skip_start, skip_end, readable_spans) -> (stream, plan)"},
    {"splice", splice, METH_VARARGS, "splice(plan, converted, map_runs) -> page"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_trad_scan",
                                    "The trad markup step in one pass each way (see trad_markup.py).", -1, methods,
                                    NULL, NULL, NULL, NULL};

/* The module's tables as tuples of str, so the tests can hold them to trad_markup's. */
static int add_names(PyObject *m, const char *attribute, const char **list, size_t n) {
    PyObject *names = PyTuple_New((Py_ssize_t)n);
    if (!names) return -1;
    for (size_t k = 0; k < n; k++) {
        PyObject *name = PyUnicode_FromString(list[k]);
        if (!name) {
            Py_DECREF(names);
            return -1;
        }
        PyTuple_SET_ITEM(names, k, name);
    }
    if (PyModule_AddObject(m, attribute, names) < 0) {
        Py_DECREF(names);
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC PyInit__trad_scan(void) {
    index_block_tags();
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    if (add_names(m, "BLOCK_TAGS", BLOCK_TAGS, N_BLOCK_TAGS) < 0 ||
        add_names(m, "RAW_TEXT_TAGS", RAW_TEXT_TAGS, COUNT(RAW_TEXT_TAGS)) < 0 ||
        add_names(m, "TEXT_ATTRIBUTES", TEXT_ATTRIBUTES, COUNT(TEXT_ATTRIBUTES)) < 0)
        goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
