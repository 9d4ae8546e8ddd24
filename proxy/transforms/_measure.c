/* The repairs' walks that only count or collect, over libxml2's tree: an optional accelerator.
 *
 * Each function here has its Python original (named below), the reference and the fallback; this module does
 * the same work without a Python loop body per node (getparent, dictionary lookups, .text and .tail made into
 * strings only to be counted), which is where those spend their time: on the 100 KB page the measuring walk
 * alone was 1.2 ms of 4.6 ms of landmark repairs.  tests/test_measure.py holds each to its original, and
 * A11Y_PROXY_NO_EXTENSIONS=1 selects the originals.
 *
 *   measure(root, hidden) -> (sequence, order, end, through, text, link_text, links, media, frames)
 *       aria.measure_in_python: the fields of aria.Measure, in its terms: sequence, the measured elements in
 *       document order (the root first); order and end, dictionaries element -> position, and -> position of
 *       its last measured descendant; the rest, lists by position.  hidden(element) is called for the elements whose own
 *       attributes could hide them (style, hidden, aria-hidden; every <input>) whose attributes are not
 *       told apart here (a style with characters beside ASCII that Python's \s or re.I match: plain_style):
 *       hidden_here holds aria.hidden's rules.
 *   text_of(element, limit, hidden) -> str
 *       aria.text_of_in_python's pieces (rendered text, img alts), joined but not yet squashed: the same walk, stopping
 *       at the same piece (once more than twice the limit in visible characters is read).
 *   first_text(element, size) -> str
 *       landmarks.first_text_in_python: the subtree's text pieces (as itertext() yields them) without whitespace,
 *       piece by piece until at least size characters.
 *   text_length(element) -> int
 *       len(etree.tostring(element, method="text", encoding="unicode", with_tail=False)): the characters of
 *       the subtree's text nodes, counted where they lie.
 *   own_text(element) -> str
 *       (el.text or "") + "".join(child.tail or "" for child in el): the element's own text nodes, in order.
 *   child_spans(parent, start, end, order, size) -> [(child, (start, end)), ...]
 *       landmarks._FooterText's spans of parent's child elements in the page's text, given parent's span:
 *       parent's text, then each child's text and its tail, in order; the child of the largest size
 *       (size[order[child]], 0 for one not in order; the first of equals) is not read, its length is what
 *       the others leave.
 *   number(root, names) -> (order, having, positions)
 *       every element under root, root included, numbered in document order (order: element -> number, as
 *       dict(zip(root.iter(etree.Element), count()))), and the elements with any of the attributes names
 *       (in no namespace), in order, with their numbers: landmarks._Numbering and its candidates.
 *   with_attributes(root, names) -> [(element, name, value), ...]
 *       links._url_attributes_in_python: every attribute of one of names (in no namespace) on root and every
 *       element under it, in document order (an element's in the order they are written).
 *   url_candidates(root, names, hosts, style_hosts) -> [(element, name, value), ...]
 *       with_attributes(root, names) less the attributes links.KeepReaderOnProxy.apply passes over unread: a
 *       value that is not srcset and starts with none of / h H and a space; one starting h, H or // that
 *       links.cannot_name(value, hosts) says points elsewhere; a style holding none of style_hosts.
 *   grouped_by_value(root, tags, name, prefixes) -> {value.strip(): [element, ...]}
 *       root and the elements under it of one of tags, grouped by their attribute name's value stripped as
 *       Python strips it (str.isspace), in document order; no value, an empty one and one starting with one
 *       of prefixes left out: names._NamesRun.same_href_text's links by address.
 *   text_sample(root, sample, skipped_tags) -> str
 *       pagefixes.text_sample_in_python: root's text, element by element from a stack (an element's text, then
 *       its children's tails; the children pushed, the last one read next), children of skipped_tags left
 *       out, until at least sample characters are read.
 *   attribute_values(root, names) -> ([value, ...] per name)
 *       for each of names, the values of that attribute (in no namespace) on the elements under root (root left
 *       out), in document order, as plain strings: what the XPath of descendants' @name finds, per name.
 *   elements_with(root, tags, names) -> [element, ...]
 *       root and the elements under it whose tag is one of tags or that have an attribute of one of names (both
 *       in no namespace), in document order: aria.find_landmarks' candidates, without sorting them.
 *   containing(root, tags, words) -> [element, ...]
 *       the elements under root (root left out) of one of tags whose XPath string-value (its text nodes, joined)
 *       holds one of words, in document order: "descendant::tag[contains(., w1) or contains(., w2)...]".
 *   unnamed_links(root, spaces) -> [element, ...]
 *       names._TEXTLESS_LINKS: under root, every a with an href whose string-value is only white space (XPath's
 *       four characters and those of spaces), and every area with an href, in document order.
 *   text_says(root, words, heads, tails) -> bool
 *       does root's string-value hold one of words, or one of heads followed by white space or none (Python's
 *       \s) and one of tails: elder._LURE_TEXT.search on the text, without the text made a Python string.
 *   has_value(root, tags, name, value) -> bool
 *       is there an element, root or under it, of one of tags (any tag when there are none) whose attribute name
 *       (in no namespace) is exactly value: "boolean(//tag/@name[. = 'value'])" from root.
 *   find_all(text, words, ignore_ascii_case) -> [[start, ...] per word]
 *       every start of each word in text, overlapping ones included (landmarks._finds for many words in one
 *       pass); ignore_ascii_case: A-Z match a-z (the words are given in lower case), nothing else changes.
 *
 * The tree is read through lxml's public C API (lxml.etree_api.h: the element proxies) and libxml2's node
 * structures (the headers lxml ships with the libxml2 it is built on).  Nothing is written to the tree.
 * Text is UTF-8 in libxml2: a character is a byte that is not a continuation byte.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function" /* (helpers in lxml's header that this module does not use) */
#include "lxml-version.h"
#include "etree_defs.h"
#include "lxml.etree_api.h"
#pragma GCC diagnostic pop

static PyObject *ELEMENT_TYPE; /* lxml.etree._Element */

/* The libxml2 element behind an lxml element, or NULL with a TypeError (a comment, an entity, not lxml's). */
static xmlNode *element_node(PyObject *obj, const char *function) {
    if (PyObject_TypeCheck(obj, (PyTypeObject *)ELEMENT_TYPE)) {
        xmlNode *node = ((struct LxmlElement *)obj)->_c_node;
        if (node != NULL && node->type == XML_ELEMENT_NODE)
            return node;
    }
    PyErr_Format(PyExc_TypeError, "%s() needs an lxml element (not a comment, an entity or another object)", function);
    return NULL;
}

static struct LxmlDocument *document_of(PyObject *element) {
    return ((struct LxmlElement *)element)->_doc;
}

/* A tuple of names (attributes, tags) as C strings in out (at most `most`): how many, or -1 with an error set. */
static Py_ssize_t c_names(PyObject *names, const char **out, Py_ssize_t most, const char *function) {
    Py_ssize_t count = PyTuple_GET_SIZE(names);
    if (count > most) {
        PyErr_Format(PyExc_ValueError, "%s() takes at most %zd names", function, most);
        return -1;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        if (!PyUnicode_Check(name) || (out[i] = PyUnicode_AsUTF8(name)) == NULL) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "%s() takes names as strings", function);
            return -1;
        }
    }
    return count;
}

/* The node after node in top's subtree, in document order (into its children when `down`), or NULL at the
 * end: no recursion, pages nest 100,000 deep. */
static xmlNode *next_in(xmlNode *top, xmlNode *node, int down) {
    if (down && node->children != NULL)
        return node->children;
    while (node != top && node->next == NULL)
        node = node->parent;
    return node == top ? NULL : node->next;
}

/* aria._NOT_RENDERED: elements whose subtree is not measured (test_measure checks the two lists agree). */
static const char *NOT_RENDERED[] = {"script", "style", "noscript", "template", "head", "title", "meta", "link",
                                     "base", "param", "source", "track", "datalist"};
/* aria._MEDIA: elements that count as content without text. */
static const char *MEDIA[] = {"img", "iframe", "frame", "object", "embed", "video", "audio", "canvas", "svg",
                              "input", "select", "textarea", "button", "progress", "meter"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static Py_UCS4 ascii_lower(Py_UCS4 c) {
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int named(const xmlChar *name, const char *const *names, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (strcmp((const char *)name, names[i]) == 0)
            return 1;
    return 0;
}

/* The attribute `name` in no namespace (what lxml's el.get(name) reads), or NULL. */
static xmlAttr *attribute(xmlNode *node, const char *name) {
    for (xmlAttr *attr = node->properties; attr; attr = attr->next)
        if (attr->ns == NULL && strcmp((const char *)attr->name, name) == 0)
            return attr;
    return NULL;
}

/* Has the element an attribute (in no namespace) of one of the count names? */
static int has_attribute_of(xmlNode *node, const char *const *names, Py_ssize_t count) {
    for (Py_ssize_t i = 0; i < count; i++)
        if (attribute(node, names[i]) != NULL)
            return 1;
    return 0;
}

/* Could the element's own attributes hide it?  (aria._MAY_HIDE: @style, @hidden, @aria-hidden, <input>.) */
static int may_hide(xmlNode *node, int plain) {
    if (plain && strcmp((const char *)node->name, "input") == 0)
        return 1;
    for (xmlAttr *attr = node->properties; attr; attr = attr->next) {
        if (attr->ns != NULL)
            continue;
        const char *name = (const char *)attr->name;
        if (strcmp(name, "style") == 0 || strcmp(name, "hidden") == 0 || strcmp(name, "aria-hidden") == 0)
            return 1;
    }
    return 0;
}

/* Does an alt attribute say something?  (The reference: alt.strip(), Python's notion of whitespace.) */
static int says_something(xmlAttr *attr) {
    int says = 0;
    for (xmlNode *piece = attr->children; piece; piece = piece->next) {
        if (piece->type != XML_TEXT_NODE || piece->content == NULL)
            continue;
        PyObject *text = PyUnicode_DecodeUTF8((const char *)piece->content,
                                              (Py_ssize_t)strlen((const char *)piece->content), "surrogatepass");
        if (text == NULL)
            return -1;
        Py_ssize_t length = PyUnicode_GET_LENGTH(text);
        int kind = PyUnicode_KIND(text);
        const void *data = PyUnicode_DATA(text);
        for (Py_ssize_t i = 0; i < length && !says; i++)
            says = !Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i));
        Py_DECREF(text);
        if (says)
            break;
    }
    return says;
}

/* Visible characters of a text node (aria.chars: whitespace, NBSP, U+3000, U+200B and U+FEFF do not count). */
static Py_ssize_t visible_chars(const xmlChar *text) {
    Py_ssize_t count = 0;
    if (text == NULL)
        return 0;
    for (const unsigned char *p = text; *p; p++) {
        unsigned char c = *p;
        if ((c & 0xC0) == 0x80)
            continue; /* a continuation byte */
        if (c == ' ' || (c >= '\t' && c <= '\r'))
            continue;
        if (c == 0xC2 && p[1] == 0xA0)
            continue; /* U+00A0 */
        if (c == 0xE3 && p[1] == 0x80 && p[2] == 0x80)
            continue; /* U+3000 */
        if (c == 0xE2 && p[1] == 0x80 && p[2] == 0x8B)
            continue; /* U+200B */
        if (c == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
            continue; /* U+FEFF */
        count++;
    }
    return count;
}

typedef struct {
    xmlNode **node;
    Py_ssize_t *parent, *own, *end;
    char *in_link, *link, *medium, *frame;
    Py_ssize_t count, capacity;
} Walk;

static void walk_free(Walk *w) {
    PyMem_Free(w->node);
    PyMem_Free(w->parent);
    PyMem_Free(w->own);
    PyMem_Free(w->end);
    PyMem_Free(w->in_link);
    PyMem_Free(w->link);
    PyMem_Free(w->medium);
    PyMem_Free(w->frame);
}

#define GROW(field, type)                                                                   \
    do {                                                                                    \
        type *grown = PyMem_Realloc(w->field, (size_t)capacity * sizeof(type));             \
        if (grown == NULL)                                                                  \
            return -1;                                                                      \
        w->field = grown;                                                                   \
    } while (0)

static int walk_grow(Walk *w) {
    Py_ssize_t capacity = w->capacity ? w->capacity * 2 : 1024;
    GROW(node, xmlNode *);
    GROW(parent, Py_ssize_t);
    GROW(own, Py_ssize_t);
    GROW(end, Py_ssize_t);
    GROW(in_link, char);
    GROW(link, char);
    GROW(medium, char);
    GROW(frame, char);
    w->capacity = capacity;
    return 0;
}

static Py_ssize_t walk_add(Walk *w, xmlNode *node, Py_ssize_t parent) {
    if (w->count == w->capacity && walk_grow(w) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t index = w->count++;
    w->node[index] = node;
    w->parent[index] = parent;
    w->own[index] = 0;
    w->end[index] = index;
    w->in_link[index] = parent >= 0 ? w->in_link[parent] : 0;
    w->link[index] = w->medium[index] = w->frame[index] = 0;
    return index;
}

/* An attribute's value, as lxml's el.get() reads it (its text children joined), decoded; NULL on error. */
static PyObject *attribute_value(xmlAttr *attr) {
    if (attr->children != NULL && attr->children->next == NULL && attr->children->type == XML_TEXT_NODE) {
        const char *value = attr->children->content ? (const char *)attr->children->content : "";
        return PyUnicode_DecodeUTF8(value, (Py_ssize_t)strlen(value), "surrogatepass");
    }
    PyObject *pieces = PyList_New(0), *joined = NULL;
    if (pieces == NULL)
        return NULL;
    for (xmlNode *piece = attr->children; piece; piece = piece->next) {
        if (piece->type != XML_TEXT_NODE || piece->content == NULL)
            continue;
        PyObject *text = PyUnicode_DecodeUTF8((const char *)piece->content,
                                              (Py_ssize_t)strlen((const char *)piece->content), "surrogatepass");
        if (text == NULL || PyList_Append(pieces, text) < 0) {
            Py_XDECREF(text);
            Py_DECREF(pieces);
            return NULL;
        }
        Py_DECREF(text);
    }
    PyObject *empty = PyUnicode_FromString("");
    if (empty != NULL)
        joined = PyUnicode_Join(empty, pieces);
    Py_XDECREF(empty);
    Py_DECREF(pieces);
    return joined;
}

/* (value or "").strip().lower() == word, word in lower-case ASCII: after Python's strip, every character
 * must be an ASCII letter (no other character lowers to one alone: checked over all of Unicode). */
static int says_word(xmlAttr *attr, const char *word) {
    PyObject *value = attribute_value(attr);
    if (value == NULL)
        return -1;
    int kind = PyUnicode_KIND(value);
    const void *data = PyUnicode_DATA(value);
    Py_ssize_t start = 0, end = PyUnicode_GET_LENGTH(value), size = (Py_ssize_t)strlen(word);
    while (start < end && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, start)))
        start++;
    while (end > start && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, end - 1)))
        end--;
    int same = end - start == size;
    for (Py_ssize_t i = 0; same && i < size; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, start + i);
        same = c < 128 && ascii_lower(c) == (Py_UCS4)word[i];
    }
    Py_DECREF(value);
    return same;
}

static int ascii_space(unsigned char c) {
    /* (Python's \s over ASCII: \t-\r, \x1c-\x1f and the space; never a byte of a longer UTF-8 sequence) */
    return c < 0x80 && Py_UNICODE_ISSPACE(c);
}

/* The UTF-8 sequence starting at s: its code point in *c and its length in bytes, or 0 where s does not start a
 * whole sequence (libxml2 holds its text valid: that is a guard, and no byte past the string's end is read). */
static int utf8_char(const unsigned char *s, Py_UCS4 *c) {
    if (*s < 0x80) {
        *c = *s;
        return 1;
    }
    int length = *s >= 0xF8 ? 0 : *s >= 0xF0 ? 4 : *s >= 0xE0 ? 3 : *s >= 0xC0 ? 2 : 0;
    if (length == 0)
        return 0;
    *c = *s & (length == 4 ? 0x07 : length == 3 ? 0x0F : 0x1F);
    for (int i = 1; i < length; i++) {
        if ((s[i] & 0xC0) != 0x80) /* (the string's ending NUL stops here too) */
            return 0;
        *c = (*c << 6) | (s[i] & 0x3F);
    }
    return length;
}

/* Is the character at s white space to Python (str.isspace, re's \s)?  *size: its length (1 for a stray byte). */
static int space_at(const unsigned char *s, int *size) {
    Py_UCS4 c;
    *size = utf8_char(s, &c);
    if (*size == 0) {
        *size = 1;
        return 0;
    }
    return Py_UNICODE_ISSPACE(c);
}

/* Can _DISPLAY_NONE be told on this style's bytes: are its non-ASCII characters (UTF-8: libxml2 holds it
 * valid) neither white space to Python's \s nor matched by an ASCII letter under re.I (U+0130, U+0131,
 * U+017F, U+212A: tests/test_measure.py checks the list against re)?  Such characters then match nothing
 * in the pattern, as their bytes match nothing in ascii_display_none.  (Styles naming a font 宋体 are on
 * most portal pages.) */
static int plain_style(const unsigned char *s) {
    while (*s) {
        Py_UCS4 c;
        int length = utf8_char(s, &c);
        if (length == 0)
            return 0; /* (not UTF-8 after all: let Python read it) */
        if (c >= 0x80 && (Py_UNICODE_ISSPACE(c) || c == 0x130 || c == 0x131 || c == 0x17F || c == 0x212A))
            return 0;
        s += length;
    }
    return 1;
}

static int ascii_word_at(const unsigned char *s, size_t n, size_t at, const char *word) {
    size_t size = strlen(word);
    if (at + size > n)
        return 0;
    for (size_t i = 0; i < size; i++)
        if (ascii_lower(s[at + i]) != (Py_UCS4)word[i])
            return 0;
    return 1;
}

/* aria._DISPLAY_NONE.search(style) for an ASCII style: a declaration, from the start or after a ';',
 * 'display: none' or 'visibility: hidden' (any case, any spaces), perhaps '!important', then ';' or the end. */
static int ascii_display_none(const unsigned char *s, size_t n) {
    for (size_t start = 0; start <= n; start++) {
        if (start > 0 && s[start - 1] != ';')
            continue;
        size_t at = start;
        while (at < n && ascii_space(s[at]))
            at++;
        const char *value;
        if (ascii_word_at(s, n, at, "display")) {
            at += 7;
            value = "none";
        } else if (ascii_word_at(s, n, at, "visibility")) {
            at += 10;
            value = "hidden";
        } else {
            continue;
        }
        while (at < n && ascii_space(s[at]))
            at++;
        if (at >= n || s[at] != ':')
            continue;
        at++;
        while (at < n && ascii_space(s[at]))
            at++;
        if (!ascii_word_at(s, n, at, value))
            continue;
        at += strlen(value);
        while (at < n && ascii_space(s[at]))
            at++;
        if (at < n && s[at] == '!') {
            at++;
            while (at < n && ascii_space(s[at]))
                at++;
            if (!ascii_word_at(s, n, at, "important"))
                continue;
            at += 9;
            while (at < n && ascii_space(s[at]))
                at++;
        }
        if (at == n || s[at] == ';')
            return 1;
    }
    return 0;
}

/* aria.hidden(el) where it can be told here: 1 hidden, 0 not, 2 ask aria.hidden (a style with characters
 * beside ASCII that re.I or Python's \s match: see plain_style), -1 an error. */
static int hidden_here(xmlNode *node, int plain) {
    if (attribute(node, "hidden") != NULL)
        return 1;
    xmlAttr *attr = attribute(node, "aria-hidden");
    int says;
    if (attr != NULL && (says = says_word(attr, "true")) != 0)
        return says;
    attr = attribute(node, "style");
    if (attr != NULL) {
        for (xmlNode *piece = attr->children; piece; piece = piece->next) {
            if (piece->type != XML_TEXT_NODE || piece->content == NULL)
                return 2;
            if (!plain_style(piece->content))
                return 2;
        }
        if (attr->children != NULL && attr->children->next != NULL)
            return 2; /* (a value in several pieces: never made by the parser) */
        if (attr->children != NULL && attr->children->content != NULL) {
            const unsigned char *style = attr->children->content;
            if (ascii_display_none(style, strlen((const char *)style)))
                return 1;
        }
    }
    if (plain && strcmp((const char *)node->name, "input") == 0 && (attr = attribute(node, "type")) != NULL)
        return says_word(attr, "hidden");
    return 0;
}

/* Is this element measured (not a non-rendered one, not hidden by its own attributes)?  -1: an error. */
static int measured(xmlNode *node, struct LxmlDocument *doc, PyObject *hidden, PyObject **proxy) {
    *proxy = NULL;
    int plain = node->ns == NULL || node->ns->href == NULL; /* a namespaced tag, "{ns}name", is no HTML name */
    if (plain && named(node->name, NOT_RENDERED, COUNT(NOT_RENDERED)))
        return 0;
    if (!may_hide(node, plain))
        return 1;
    int here = hidden_here(node, plain);
    if (here != 2)
        return here < 0 ? -1 : !here;
    *proxy = (PyObject *)elementFactory(doc, node);
    if (*proxy == NULL)
        return -1;
    PyObject *result = PyObject_CallOneArg(hidden, *proxy);
    if (result == NULL)
        return -1;
    int is_hidden = PyObject_IsTrue(result);
    Py_DECREF(result);
    return is_hidden < 0 ? -1 : !is_hidden;
}

/* What an element counts as: a link (<a>/<area> with href), a medium, a frame. */
static int classify(Walk *w, Py_ssize_t index, xmlNode *node) {
    if (node->ns != NULL && node->ns->href != NULL)
        return 0;
    const char *tag = (const char *)node->name;
    if (strcmp(tag, "a") == 0 || strcmp(tag, "area") == 0) {
        if (attribute(node, "href") != NULL)
            w->link[index] = w->in_link[index] = 1;
    } else if (strcmp(tag, "img") == 0) {
        xmlAttr *alt = attribute(node, "alt");
        int says = alt == NULL ? 1 : says_something(alt);
        if (says < 0)
            return -1;
        w->medium[index] = (char)says;
    } else if (named(node->name, MEDIA, COUNT(MEDIA))) {
        w->medium[index] = 1;
        if (strcmp(tag, "iframe") == 0 || strcmp(tag, "frame") == 0)
            w->frame[index] = 1;
    }
    return 0;
}

/* The walk: every node under root in document order, descending only into measured elements.  No recursion
 * (pages nest 100,000 deep): the way back up is each measured element's parent position. */
static int walk(Walk *w, xmlNode *root, struct LxmlDocument *doc, PyObject *hidden, PyObject *sequence) {
    if (walk_add(w, root, -1) < 0)
        return -1;
    Py_ssize_t current = 0; /* the measured element whose children are being read */
    xmlNode *node = root->children;
    for (;;) {
        if (node == NULL) {
            if (current == 0)
                break;
            w->end[current] = w->count - 1;
            node = w->node[current]->next;
            current = w->parent[current];
            continue;
        }
        if (node->type == XML_TEXT_NODE || node->type == XML_CDATA_SECTION_NODE) {
            w->own[current] += visible_chars(node->content); /* the parent's text or a sibling's tail */
            node = node->next;
            continue;
        }
        if (node->type != XML_ELEMENT_NODE) { /* comments, PIs: only their tails (text nodes) count */
            node = node->next;
            continue;
        }
        PyObject *proxy;
        int counts = measured(node, doc, hidden, &proxy);
        if (counts < 0) {
            Py_XDECREF(proxy);
            return -1;
        }
        if (!counts) {
            Py_XDECREF(proxy);
            node = node->next; /* its subtree is left out */
            continue;
        }
        if (proxy == NULL && (proxy = (PyObject *)elementFactory(doc, node)) == NULL)
            return -1;
        int appended = PyList_Append(sequence, proxy);
        Py_DECREF(proxy);
        if (appended < 0)
            return -1;
        Py_ssize_t index = walk_add(w, node, current);
        if (index < 0 || classify(w, index, node) < 0)
            return -1;
        if (node->children != NULL) {
            current = index;
            node = node->children;
        } else {
            node = node->next;
        }
    }
    w->end[0] = w->count - 1;
    return 0;
}

static PyObject *int_list(const Py_ssize_t *values, Py_ssize_t count) {
    PyObject *list = PyList_New(count);
    if (list == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *value = PyLong_FromSsize_t(values[i]);
        if (value == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, value);
    }
    return list;
}

/* Each element's subtree total of values (by position): a difference of running sums. */
static PyObject *totals(const Walk *w, const Py_ssize_t *values, Py_ssize_t *running) {
    Py_ssize_t sum = 0;
    for (Py_ssize_t i = 0; i < w->count; i++)
        running[i] = sum += values[i];
    Py_ssize_t *out = running + w->count;
    for (Py_ssize_t i = 0; i < w->count; i++)
        out[i] = running[w->end[i]] - (running[i] - values[i]);
    return int_list(out, w->count);
}

static PyObject *flag_totals(const Walk *w, const char *flags, Py_ssize_t *scratch) {
    Py_ssize_t *values = scratch + 2 * w->count;
    for (Py_ssize_t i = 0; i < w->count; i++)
        values[i] = flags[i];
    return totals(w, values, scratch);
}

static PyObject *measure(PyObject *self, PyObject *args) {
    PyObject *root, *hidden;
    if (!PyArg_ParseTuple(args, "OO:measure", &root, &hidden))
        return NULL;
    xmlNode *top = element_node(root, "measure");
    if (top == NULL)
        return NULL;
    Walk w = {0};
    Py_ssize_t *scratch = NULL;
    PyObject *sequence = PyList_New(0), *order = NULL, *end = NULL, *result = NULL;
    PyObject *through = NULL, *text = NULL, *link_text = NULL, *links = NULL, *media = NULL, *frames = NULL;
    if (sequence == NULL || PyList_Append(sequence, root) < 0)
        goto done;
    if (walk(&w, top, document_of(root), hidden, sequence) < 0)
        goto done;
    Py_ssize_t n = w.count;
    scratch = PyMem_Malloc((size_t)(3 * n) * sizeof(Py_ssize_t));
    order = PyDict_New();
    end = PyDict_New();
    if (scratch == NULL || order == NULL || end == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *el = PyList_GET_ITEM(sequence, i);
        PyObject *position = PyLong_FromSsize_t(i), *last = PyLong_FromSsize_t(w.end[i]);
        int failed = position == NULL || last == NULL || PyDict_SetItem(order, el, position) < 0 ||
                     PyDict_SetItem(end, el, last) < 0;
        Py_XDECREF(position);
        Py_XDECREF(last);
        if (failed)
            goto done;
    }
    /* through: characters up to and including each element's own; text: each subtree's characters. */
    Py_ssize_t sum = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        scratch[i] = sum += w.own[i];
    through = int_list(scratch, n);
    if (through == NULL)
        goto done;
    if ((text = totals(&w, w.own, scratch)) == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) /* (the values in the third part of scratch: totals() uses the others) */
        scratch[2 * n + i] = w.in_link[i] ? w.own[i] : 0;
    if ((link_text = totals(&w, scratch + 2 * n, scratch)) == NULL || (links = flag_totals(&w, w.link, scratch)) == NULL ||
        (media = flag_totals(&w, w.medium, scratch)) == NULL || (frames = flag_totals(&w, w.frame, scratch)) == NULL)
        goto done;
    result = PyTuple_Pack(9, sequence, order, end, through, text, link_text, links, media, frames);
done:
    Py_XDECREF(sequence);
    Py_XDECREF(order);
    Py_XDECREF(end);
    Py_XDECREF(through);
    Py_XDECREF(text);
    Py_XDECREF(link_text);
    Py_XDECREF(links);
    Py_XDECREF(media);
    Py_XDECREF(frames);
    PyMem_Free(scratch);
    walk_free(&w);
    return result;
}

/* --- text_of and first_text ------------------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t length, capacity;
} Buffer;

static int buffer_add(Buffer *b, const char *bytes, size_t length) {
    if (b->length + length > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 256;
        while (capacity < b->length + length)
            capacity *= 2;
        char *grown = PyMem_Realloc(b->data, capacity);
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        b->data = grown;
        b->capacity = capacity;
    }
    memcpy(b->data + b->length, bytes, length);
    b->length += length;
    return 0;
}

static int text_node(const xmlNode *node) {
    return node->type == XML_TEXT_NODE || node->type == XML_CDATA_SECTION_NODE;
}

/* lxml's element-like nodes (what iterating an element yields): elements, comments, PIs, entity references. */
static int element_like(const xmlNode *node) {
    return node->type == XML_ELEMENT_NODE || node->type == XML_COMMENT_NODE || node->type == XML_PI_NODE ||
           node->type == XML_ENTITY_REF_NODE;
}

static xmlNode *next_element_like(xmlNode *node) {
    while (node != NULL && !element_like(node))
        node = node->next;
    return node;
}

/* A run of text nodes from node on (an element's .text from its first child, a node's .tail from its next
 * sibling): appended to out, and what count finds in each (visible characters, characters) added to size. */
static int add_counted_run(Buffer *out, const xmlNode *node, Py_ssize_t *size, Py_ssize_t (*count)(const xmlChar *)) {
    for (; node != NULL && text_node(node); node = node->next) {
        if (node->content == NULL)
            continue;
        size_t length = strlen((const char *)node->content);
        if (buffer_add(out, (const char *)node->content, length) < 0)
            return -1;
        *size += count(node->content);
    }
    return 0;
}

static int add_run(Buffer *out, const xmlNode *node, Py_ssize_t *size) {
    return add_counted_run(out, node, size, visible_chars);
}

/* Is the element read by text_of: rendered, not hidden?  -1: an error. */
static int readable(xmlNode *node, struct LxmlDocument *doc, PyObject *hidden) {
    PyObject *proxy;
    int shown = measured(node, doc, hidden, &proxy);
    Py_XDECREF(proxy);
    return shown;
}

static int add_alt(Buffer *out, xmlNode *node) {
    if (node->ns != NULL && node->ns->href != NULL)
        return 0;
    if (strcmp((const char *)node->name, "img") != 0)
        return 0;
    xmlAttr *alt = attribute(node, "alt");
    if (alt == NULL)
        return 0;
    int says = says_something(alt);
    if (says <= 0)
        return says;
    for (xmlNode *piece = alt->children; piece; piece = piece->next)
        if (piece->type == XML_TEXT_NODE && piece->content != NULL &&
            buffer_add(out, (const char *)piece->content, strlen((const char *)piece->content)) < 0)
            return -1;
    return 0;
}

typedef struct {
    xmlNode *next;  /* the next element-like child to read */
    xmlNode *owner; /* the element whose tail follows its children (NULL for the first) */
} Level;

static PyObject *text_of(PyObject *self, PyObject *args) {
    PyObject *root, *hidden;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "OnO:text_of", &root, &limit, &hidden))
        return NULL;
    xmlNode *el = element_node(root, "text_of");
    if (el == NULL)
        return NULL;
    struct LxmlDocument *doc = document_of(root);
    Buffer out = {0};
    Level *stack = NULL;
    Py_ssize_t depth = 0, capacity = 0, size = 0;
    PyObject *result = NULL;
    int plain = el->ns == NULL || el->ns->href == NULL;
    if (!(plain && named(el->name, NOT_RENDERED, COUNT(NOT_RENDERED))) && add_run(&out, el->children, &size) < 0)
        goto done;
    capacity = 64;
    if ((stack = PyMem_Malloc((size_t)capacity * sizeof(Level))) == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    stack[depth++] = (Level){next_element_like(el->children), NULL};
    while (depth > 0 && size <= limit * 2) {
        Level *level = &stack[depth - 1];
        xmlNode *child = level->next;
        if (child == NULL) {
            xmlNode *owner = level->owner;
            depth--;
            if (owner != NULL && add_run(&out, owner->next, &size) < 0)
                goto done;
            continue;
        }
        level->next = next_element_like(child->next);
        int shown = 0;
        if (child->type == XML_ELEMENT_NODE && (shown = readable(child, doc, hidden)) < 0)
            goto done;
        if (!shown) {
            if (add_run(&out, child->next, &size) < 0) /* its tail */
                goto done;
            continue;
        }
        if (add_alt(&out, child) < 0 || add_run(&out, child->children, &size) < 0)
            goto done;
        if (depth == capacity) {
            Level *grown = PyMem_Realloc(stack, (size_t)(capacity * 2) * sizeof(Level));
            if (grown == NULL) {
                PyErr_NoMemory();
                goto done;
            }
            stack = grown;
            capacity *= 2;
        }
        stack[depth++] = (Level){next_element_like(child->children), child}; /* its children, then its tail */
    }
    result = PyUnicode_DecodeUTF8(out.data ? out.data : "", (Py_ssize_t)out.length, "strict");
done:
    PyMem_Free(out.data);
    PyMem_Free(stack);
    return result;
}

/* The characters of a UTF-8 run that are not whitespace by Python's str.split(). */
static int add_unspaced(Buffer *out, const xmlNode *node, Py_ssize_t *count) {
    Buffer run = {0};
    for (; node != NULL && text_node(node); node = node->next)
        if (node->content != NULL && buffer_add(&run, (const char *)node->content,
                                                strlen((const char *)node->content)) < 0)
            goto fail;
    if (run.length == 0)
        return 0;
    PyObject *text = PyUnicode_DecodeUTF8(run.data, (Py_ssize_t)run.length, "strict");
    if (text == NULL)
        goto fail;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), start = 0;
    const char *utf8 = run.data;
    /* (walk the code points and the UTF-8 bytes together: copy the bytes of each non-space code point) */
    size_t at = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        unsigned char lead = (unsigned char)utf8[at];
        size_t width = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        if (!Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i))) {
            if (buffer_add(out, utf8 + at, width) < 0) {
                Py_DECREF(text);
                goto fail;
            }
            (*count)++;
        }
        at += width;
    }
    (void)start;
    Py_DECREF(text);
    PyMem_Free(run.data);
    return 0;
fail:
    PyMem_Free(run.data);
    return -1;
}

static PyObject *first_text(PyObject *self, PyObject *args) {
    PyObject *root;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "On:first_text", &root, &size))
        return NULL;
    xmlNode *top = element_node(root, "first_text");
    if (top == NULL)
        return NULL;
    Buffer out = {0};
    Py_ssize_t count = 0;
    /* itertext(): each element's text run, then its children's, then its tail run (not the top's tail); comments
     * and PIs give only their tails.  Document order without recursion: down, along, back up by parent. */
    if (add_unspaced(&out, top->children, &count) < 0)
        goto fail;
    xmlNode *node = next_element_like(top->children);
    while (node != NULL && count < size) {
        if (node->type == XML_ELEMENT_NODE && count < size) {
            if (add_unspaced(&out, node->children, &count) < 0)
                goto fail;
            xmlNode *child = next_element_like(node->children);
            if (child != NULL) {
                node = child;
                continue;
            }
        }
        /* node is done: its tail, then the next sibling, or up (each parent's tail) until one has a sibling */
        for (;;) {
            if (count >= size)
                break;
            if (add_unspaced(&out, node->next, &count) < 0)
                goto fail;
            xmlNode *sibling = next_element_like(node->next);
            if (sibling != NULL) {
                node = sibling;
                break;
            }
            node = node->parent;
            if (node == top || node == NULL) {
                node = NULL;
                break;
            }
        }
        if (count >= size)
            break;
    }
    PyObject *result = PyUnicode_DecodeUTF8(out.data ? out.data : "", (Py_ssize_t)out.length, "strict");
    PyMem_Free(out.data);
    return result;
fail:
    PyMem_Free(out.data);
    return NULL;
}

/* --- text_length --------------------------------------------------------------------------------------- */

static Py_ssize_t utf8_length(const xmlChar *text) {
    Py_ssize_t count = 0;
    if (text != NULL)
        for (const unsigned char *p = text; *p; p++)
            count += (*p & 0xC0) != 0x80;
    return count;
}

static Py_ssize_t subtree_text_length(xmlNode *top);

static PyObject *text_length(PyObject *self, PyObject *root) {
    xmlNode *top = element_node(root, "text_length");
    return top == NULL ? NULL : PyLong_FromSsize_t(subtree_text_length(top));
}

static PyObject *own_text(PyObject *self, PyObject *root) {
    xmlNode *el = element_node(root, "own_text");
    if (el == NULL)
        return NULL;
    Buffer out = {0};
    for (xmlNode *node = el->children; node != NULL; node = node->next)
        if (text_node(node) && node->content != NULL &&
            buffer_add(&out, (const char *)node->content, strlen((const char *)node->content)) < 0) {
            PyMem_Free(out.data);
            return NULL;
        }
    PyObject *result = PyUnicode_DecodeUTF8(out.data ? out.data : "", (Py_ssize_t)out.length, "strict");
    PyMem_Free(out.data);
    return result;
}

/* --- child_spans ---------------------------------------------------------------------------------------- */

/* The characters of a run of text nodes from node on (a .text or .tail). */
static Py_ssize_t run_length(const xmlNode *node) {
    Py_ssize_t length = 0;
    for (; node != NULL && text_node(node); node = node->next)
        length += utf8_length(node->content);
    return length;
}

/* libxml2's text of an element (xmlNodeBufGetContent, what method="text" writes): its descendant text and
 * CDATA nodes, in any order for a count; comments and PIs hold none. */
static Py_ssize_t subtree_text_length(xmlNode *top) {
    Py_ssize_t length = 0;
    for (xmlNode *node = top->children; node != NULL; node = next_in(top, node, node->type == XML_ELEMENT_NODE))
        if (text_node(node))
            length += utf8_length(node->content);
    return length;
}

static PyObject *child_spans(PyObject *self, PyObject *args) {
    PyObject *root, *order, *size;
    Py_ssize_t start, end;
    if (!PyArg_ParseTuple(args, "OnnO!O!:child_spans", &root, &start, &end, &PyDict_Type, &order, &PyList_Type,
                          &size))
        return NULL;
    xmlNode *parent = element_node(root, "child_spans");
    if (parent == NULL)
        return NULL;
    struct LxmlDocument *doc = document_of(root);
    PyObject *children = PyList_New(0), *result = NULL;
    if (children == NULL)
        return NULL;
    /* First pass: the child elements (proxies), the biggest by size, the tails' characters. */
    Py_ssize_t tails = 0, biggest = -1, biggest_size = 0;
    for (xmlNode *node = next_element_like(parent->children); node != NULL; node = next_element_like(node->next)) {
        tails += run_length(node->next);
        if (node->type != XML_ELEMENT_NODE)
            continue;
        PyObject *child = (PyObject *)elementFactory(doc, node);
        if (child == NULL || PyList_Append(children, child) < 0) {
            Py_XDECREF(child);
            goto done;
        }
        Py_DECREF(child);
        Py_ssize_t child_size = 0;
        PyObject *index = PyDict_GetItemWithError(order, child);
        if (index != NULL) {
            Py_ssize_t at = PyLong_AsSsize_t(index);
            if (at == -1 && PyErr_Occurred())
                goto done;
            if (at < 0 || at >= PyList_GET_SIZE(size)) {
                PyErr_SetString(PyExc_IndexError, "child_spans(): an order beyond the sizes");
                goto done;
            }
            child_size = PyLong_AsSsize_t(PyList_GET_ITEM(size, at));
            if (child_size == -1 && PyErr_Occurred())
                goto done;
        } else if (PyErr_Occurred()) {
            goto done;
        }
        if (biggest < 0 || child_size > biggest_size) {
            biggest = PyList_GET_SIZE(children) - 1;
            biggest_size = child_size;
        }
    }
    Py_ssize_t count = PyList_GET_SIZE(children);
    if (count == 0) {
        result = children; /* (empty) */
        children = NULL;
        goto done;
    }
    /* Second pass: each child's length (the biggest's from what the others leave), then the spans. */
    Py_ssize_t *lengths = PyMem_Malloc((size_t)count * sizeof(Py_ssize_t));
    if (lengths == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t text = run_length(parent->children), others = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (i == biggest)
            continue;
        lengths[i] = subtree_text_length(((struct LxmlElement *)PyList_GET_ITEM(children, i))->_c_node);
        others += lengths[i];
    }
    lengths[biggest] = end - start - text - tails - others;
    result = PyList_New(count);
    if (result == NULL) {
        PyMem_Free(lengths);
        goto done;
    }
    Py_ssize_t position = start + text, i = 0;
    for (xmlNode *node = next_element_like(parent->children); node != NULL; node = next_element_like(node->next)) {
        if (node->type == XML_ELEMENT_NODE) {
            PyObject *pair = Py_BuildValue("(O(nn))", PyList_GET_ITEM(children, i), position, position + lengths[i]);
            if (pair == NULL) {
                Py_CLEAR(result);
                break;
            }
            PyList_SET_ITEM(result, i, pair);
            position += lengths[i];
            i++;
        }
        position += run_length(node->next);
    }
    PyMem_Free(lengths);
done:
    Py_XDECREF(children);
    return result;
}

/* --- number ---------------------------------------------------------------------------------------------- */

static PyObject *number(PyObject *self, PyObject *args) {
    PyObject *root, *names;
    if (!PyArg_ParseTuple(args, "OO!:number", &root, &PyTuple_Type, &names))
        return NULL;
    const char *wanted_names[8];
    Py_ssize_t wanted = c_names(names, wanted_names, 8, "number");
    if (wanted < 0)
        return NULL;
    xmlNode *top = element_node(root, "number");
    if (top == NULL)
        return NULL;
    struct LxmlDocument *doc = document_of(root);
    PyObject *order = PyDict_New(), *having = PyList_New(0), *positions = PyList_New(0), *result = NULL;
    if (order == NULL || having == NULL || positions == NULL)
        goto done;
    Py_ssize_t count = 0;
    for (xmlNode *node = top; node != NULL; node = next_in(top, node, node->type == XML_ELEMENT_NODE)) {
        if (node->type == XML_ELEMENT_NODE) {
            PyObject *el = (PyObject *)elementFactory(doc, node), *position = PyLong_FromSsize_t(count++);
            int failed = el == NULL || position == NULL || PyDict_SetItem(order, el, position) < 0;
            if (!failed && has_attribute_of(node, wanted_names, wanted))
                failed = PyList_Append(having, el) < 0 || PyList_Append(positions, position) < 0;
            Py_XDECREF(el);
            Py_XDECREF(position);
            if (failed)
                goto done;
        }
    }
    result = PyTuple_Pack(3, order, having, positions);
done:
    Py_XDECREF(order);
    Py_XDECREF(having);
    Py_XDECREF(positions);
    return result;
}

/* --- with_attributes and url_candidates ------------------------------------------------------------------ */

/* An element named one of names in no namespace: what an XPath name test without a prefix matches. */
static int xpath_named(const xmlNode *node, const char *const *names, size_t count) {
    return node->type == XML_ELEMENT_NODE && node->ns == NULL && named(node->name, names, count);
}

/* Does text hold word, ASCII letters of text compared in lower case (word is in lower case)? */
static int holds_lowered(const char *text, const char *word) {
    size_t size = strlen(word);
    for (const char *at = text; *at; at++) {
        size_t i = 0;
        while (i < size && at[i] && (char)ascii_lower((unsigned char)at[i]) == word[i])
            i++;
        if (i == size)
            return 1;
    }
    return 0;
}

/* links.cannot_name on a value's bytes: ASCII, no tab, CR, LF or '%', and none of the (lower-case) names. */
static int cannot_name_here(const char *value, const char *const *names, Py_ssize_t count) {
    for (const unsigned char *c = (const unsigned char *)value; *c; c++)
        if (*c >= 0x80 || *c == '\t' || *c == '\r' || *c == '\n' || *c == '%')
            return 0;
    for (Py_ssize_t i = 0; i < count; i++)
        if (holds_lowered(value, names[i]))
            return 0;
    return 1;
}

typedef struct {
    const char *names[32], *style_names[32]; /* the hosts as links.cannot_name and a style's test know them */
    Py_ssize_t count, style_count;
} UrlHosts;

/* Would the links transform pass over this attribute without a look (see url_candidates)? */
static int passed_over(const xmlAttr *attr, const UrlHosts *hosts) {
    if (attr->children == NULL || attr->children->next != NULL || attr->children->type != XML_TEXT_NODE)
        return 0; /* (a value in pieces: never made by the parser; Python reads it) */
    const char *value = attr->children->content ? (const char *)attr->children->content : "";
    const char *name = (const char *)attr->name;
    if (strcmp(name, "style") == 0) {
        for (Py_ssize_t i = 0; i < hosts->style_count; i++)
            if (strstr(value, hosts->style_names[i]) != NULL)
                return 0;
        return 1;
    }
    if (strcmp(name, "srcset") == 0)
        return 0;
    if (value[0] != '/' && value[0] != 'h' && value[0] != 'H' && value[0] != ' ')
        return 1;
    if (value[0] == 'h' || value[0] == 'H' || (value[0] == '/' && value[1] == '/'))
        return cannot_name_here(value, hosts->names, hosts->count);
    return 0;
}

/* The attributes of one of names (in no namespace) on top and every element under it, as (element, name, value) in
 * document order, less those the links transform passes over when hosts are given: the walk of both. */
static PyObject *attributes_where(PyObject *root, const char *const *wanted, Py_ssize_t count, const UrlHosts *hosts,
                                  const char *function) {
    xmlNode *top = element_node(root, function);
    if (top == NULL)
        return NULL;
    struct LxmlDocument *doc = document_of(root);
    PyObject *found = PyList_New(0);
    if (found == NULL)
        return NULL;
    for (xmlNode *node = top; node != NULL; node = next_in(top, node, node->type == XML_ELEMENT_NODE)) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        PyObject *el = NULL;
        for (xmlAttr *attr = node->properties; attr != NULL; attr = attr->next) {
            if (attr->ns != NULL || !named(attr->name, wanted, (size_t)count) ||
                (hosts != NULL && passed_over(attr, hosts)))
                continue;
            if (el == NULL && (el = (PyObject *)elementFactory(doc, node)) == NULL)
                goto fail;
            PyObject *value = attribute_value(attr);
            PyObject *item = value == NULL ? NULL : Py_BuildValue("(OsO)", el, (const char *)attr->name, value);
            Py_XDECREF(value);
            if (item == NULL || PyList_Append(found, item) < 0) {
                Py_XDECREF(item);
                Py_DECREF(el);
                goto fail;
            }
            Py_DECREF(item);
        }
        Py_XDECREF(el);
    }
    return found;
fail:
    Py_DECREF(found);
    return NULL;
}

static PyObject *with_attributes(PyObject *self, PyObject *args) {
    PyObject *root, *names;
    if (!PyArg_ParseTuple(args, "OO!:with_attributes", &root, &PyTuple_Type, &names))
        return NULL;
    /* The names as C strings (a few: compared with strcmp, no Python object made per attribute). */
    const char *wanted[16];
    Py_ssize_t count = c_names(names, wanted, 16, "with_attributes");
    if (count < 0)
        return NULL;
    return attributes_where(root, wanted, count, NULL, "with_attributes");
}

static PyObject *url_candidates(PyObject *self, PyObject *args) {
    PyObject *root, *names, *host_names, *style_hosts;
    if (!PyArg_ParseTuple(args, "OO!O!O!:url_candidates", &root, &PyTuple_Type, &names, &PyTuple_Type, &host_names,
                          &PyTuple_Type, &style_hosts))
        return NULL;
    const char *wanted[16];
    UrlHosts hosts;
    Py_ssize_t count = c_names(names, wanted, 16, "url_candidates");
    hosts.count = count < 0 ? -1 : c_names(host_names, hosts.names, 32, "url_candidates");
    hosts.style_count = hosts.count < 0 ? -1 : c_names(style_hosts, hosts.style_names, 32, "url_candidates");
    if (hosts.style_count < 0)
        return NULL;
    return attributes_where(root, wanted, count, &hosts, "url_candidates");
}

/* --- grouped_by_value ----------------------------------------------------------------------------------- */

/* value.strip() of a UTF-8 value (Python's white space, str.isspace): its first byte and its length. */
static const char *stripped(const char *value, size_t *length) {
    const unsigned char *start = (const unsigned char *)value, *end = start + strlen(value);
    int size;
    while (start < end && space_at(start, &size))
        start += size;
    while (end > start) {
        const unsigned char *last = end - 1;
        while (last > start && (*last & 0xC0) == 0x80)
            last--;
        if (!space_at(last, &size))
            break;
        end = last;
    }
    *length = (size_t)(end - start);
    return (const char *)start;
}

static PyObject *grouped_by_value(PyObject *self, PyObject *args) {
    PyObject *root, *tags, *prefixes;
    const char *name;
    if (!PyArg_ParseTuple(args, "OO!sO!:grouped_by_value", &root, &PyTuple_Type, &tags, &name, &PyTuple_Type,
                          &prefixes))
        return NULL;
    const char *wanted_tags[16], *skipped[16];
    Py_ssize_t tag_count = c_names(tags, wanted_tags, 16, "grouped_by_value");
    Py_ssize_t skip_count = tag_count < 0 ? -1 : c_names(prefixes, skipped, 16, "grouped_by_value");
    if (skip_count < 0)
        return NULL;
    xmlNode *top = element_node(root, "grouped_by_value");
    if (top == NULL)
        return NULL;
    struct LxmlDocument *doc = document_of(root);
    PyObject *groups = PyDict_New();
    if (groups == NULL)
        return NULL;
    for (xmlNode *node = top; node != NULL; node = next_in(top, node, node->type == XML_ELEMENT_NODE)) {
        if (!xpath_named(node, wanted_tags, (size_t)tag_count))
            continue;
        xmlAttr *attr = attribute(node, name);
        if (attr == NULL)
            continue;
        PyObject *value = NULL, *key = NULL, *el = NULL;
        if (attr->children != NULL && attr->children->next == NULL && attr->children->type == XML_TEXT_NODE) {
            size_t length;
            const char *start = stripped(attr->children->content ? (const char *)attr->children->content : "",
                                         &length);
            int skip = length == 0;
            for (Py_ssize_t i = 0; !skip && i < skip_count; i++)
                skip = strncmp(start, skipped[i], strlen(skipped[i])) == 0 && strlen(skipped[i]) <= length;
            if (skip)
                continue;
            key = PyUnicode_DecodeUTF8(start, (Py_ssize_t)length, "surrogatepass");
        } else { /* (a value in pieces, never made by the parser: Python's own strip) */
            value = attribute_value(attr);
            key = value == NULL ? NULL : PyObject_CallMethod(value, "strip", NULL);
            int skip = key != NULL && PyUnicode_GET_LENGTH(key) == 0;
            for (Py_ssize_t i = 0; key != NULL && !skip && i < skip_count; i++) {
                PyObject *prefix = PyUnicode_FromString(skipped[i]);
                skip = prefix == NULL ? -1 : PyUnicode_Tailmatch(key, prefix, 0, PY_SSIZE_T_MAX, -1);
                Py_XDECREF(prefix);
                if (skip < 0)
                    Py_CLEAR(key);
            }
            Py_XDECREF(value);
            if (key != NULL && skip) {
                Py_DECREF(key);
                continue;
            }
        }
        if (key == NULL)
            goto fail;
        PyObject *members = PyDict_GetItemWithError(groups, key); /* (borrowed) */
        if (members == NULL) {
            if (PyErr_Occurred() || (members = PyList_New(0)) == NULL ||
                PyDict_SetItem(groups, key, members) < 0) {
                Py_XDECREF(members);
                Py_DECREF(key);
                goto fail;
            }
            Py_DECREF(members); /* (the dictionary holds it) */
        }
        Py_DECREF(key);
        el = (PyObject *)elementFactory(doc, node);
        if (el == NULL || PyList_Append(members, el) < 0) {
            Py_XDECREF(el);
            goto fail;
        }
        Py_DECREF(el);
    }
    return groups;
fail:
    Py_DECREF(groups);
    return NULL;
}

/* --- text_sample ------------------------------------------------------------------------------------------ */

static PyObject *text_sample(PyObject *self, PyObject *args) {
    PyObject *root, *skipped_tags;
    Py_ssize_t sample;
    if (!PyArg_ParseTuple(args, "OnO!:text_sample", &root, &sample, &PyTuple_Type, &skipped_tags))
        return NULL;
    const char *skipped[16];
    Py_ssize_t skip_count = c_names(skipped_tags, skipped, 16, "text_sample");
    if (skip_count < 0)
        return NULL;
    xmlNode *top = element_node(root, "text_sample");
    if (top == NULL)
        return NULL;
    Buffer out = {NULL, 0, 0};
    size_t depth = 0, capacity = 64;
    xmlNode **stack = PyMem_Malloc(capacity * sizeof(xmlNode *));
    if (stack == NULL)
        return PyErr_NoMemory();
    stack[depth++] = top;
    Py_ssize_t size = 0;
    PyObject *result = NULL;
    while (depth > 0 && size < sample) {
        xmlNode *el = stack[--depth]; /* (the last one pushed first, as the Python list's pop()) */
        if (add_counted_run(&out, el->children, &size, utf8_length) < 0)
            goto done;
        for (xmlNode *child = next_element_like(el->children); child != NULL; child = next_element_like(child->next)) {
            if (add_counted_run(&out, child->next, &size, utf8_length) < 0)
                goto done;
            int plain = child->ns == NULL || child->ns->href == NULL;
            if (child->type != XML_ELEMENT_NODE || (plain && named(child->name, skipped, (size_t)skip_count)))
                continue;
            if (depth == capacity) {
                xmlNode **grown = PyMem_Realloc(stack, 2 * capacity * sizeof(xmlNode *));
                if (grown == NULL) {
                    PyErr_NoMemory();
                    goto done;
                }
                stack = grown;
                capacity *= 2;
            }
            stack[depth++] = child;
        }
    }
    result = PyUnicode_DecodeUTF8(out.data ? out.data : "", (Py_ssize_t)out.length, "surrogatepass");
done:
    PyMem_Free(stack);
    PyMem_Free(out.data);
    return result;
}

/* --- attribute_values ----------------------------------------------------------------------------------- */

static PyObject *attribute_values(PyObject *self, PyObject *args) {
    PyObject *root, *names;
    if (!PyArg_ParseTuple(args, "OO!:attribute_values", &root, &PyTuple_Type, &names))
        return NULL;
    const char *wanted[16];
    Py_ssize_t count = c_names(names, wanted, 16, "attribute_values");
    if (count < 0)
        return NULL;
    xmlNode *top = element_node(root, "attribute_values");
    if (top == NULL)
        return NULL;
    PyObject *found = PyTuple_New(count);
    if (found == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *values = PyList_New(0);
        if (values == NULL)
            goto fail;
        PyTuple_SET_ITEM(found, i, values);
    }
    /* No element objects: only the values (the walk's cost is then the strings alone). */
    for (xmlNode *node = next_in(top, top, 1); node != NULL;
         node = next_in(top, node, node->type == XML_ELEMENT_NODE)) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        for (Py_ssize_t i = 0; i < count; i++) {
            xmlAttr *attr = attribute(node, wanted[i]);
            if (attr == NULL)
                continue;
            PyObject *value = attribute_value(attr);
            if (value == NULL || PyList_Append(PyTuple_GET_ITEM(found, i), value) < 0) {
                Py_XDECREF(value);
                goto fail;
            }
            Py_DECREF(value);
        }
    }
    return found;
fail:
    Py_DECREF(found);
    return NULL;
}

/* --- elements_with ----------------------------------------------------------------------------------------- */

static PyObject *elements_with(PyObject *self, PyObject *args) {
    PyObject *root, *tags, *names;
    if (!PyArg_ParseTuple(args, "OO!O!:elements_with", &root, &PyTuple_Type, &tags, &PyTuple_Type, &names))
        return NULL;
    const char *wanted_tags[16], *wanted_names[16];
    Py_ssize_t tag_count = c_names(tags, wanted_tags, 16, "elements_with");
    Py_ssize_t name_count = tag_count < 0 ? -1 : c_names(names, wanted_names, 16, "elements_with");
    if (name_count < 0)
        return NULL;
    xmlNode *top = element_node(root, "elements_with");
    if (top == NULL)
        return NULL;
    struct LxmlDocument *doc = document_of(root);
    PyObject *found = PyList_New(0);
    if (found == NULL)
        return NULL;
    for (xmlNode *node = top; node != NULL; node = next_in(top, node, node->type == XML_ELEMENT_NODE)) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        int plain = node->ns == NULL || node->ns->href == NULL;
        if (!(plain && named(node->name, wanted_tags, (size_t)tag_count)) &&
            !has_attribute_of(node, wanted_names, name_count))
            continue;
        PyObject *el = (PyObject *)elementFactory(doc, node);
        if (el == NULL || PyList_Append(found, el) < 0) {
            Py_XDECREF(el);
            Py_DECREF(found);
            return NULL;
        }
        Py_DECREF(el);
    }
    return found;
}

/* --- containing and unnamed_links ------------------------------------------------------------------------- */

/* An element's string-value as XPath reads it (its descendant text nodes, in order) into out, NUL-ended. */
static int string_value(Buffer *out, xmlNode *top) {
    out->length = 0;
    for (xmlNode *node = next_in(top, top, 1); node != NULL;
         node = next_in(top, node, node->type == XML_ELEMENT_NODE)) {
        if (text_node(node) && node->content != NULL &&
            buffer_add(out, (const char *)node->content, strlen((const char *)node->content)) < 0)
            return -1;
    }
    return buffer_add(out, "", 1);
}

static int append_proxy(PyObject *found, struct LxmlDocument *doc, xmlNode *node) {
    PyObject *el = (PyObject *)elementFactory(doc, node);
    int failed = el == NULL || PyList_Append(found, el) < 0;
    Py_XDECREF(el);
    return failed ? -1 : 0;
}

static PyObject *containing(PyObject *self, PyObject *args) {
    PyObject *root, *tags, *words;
    if (!PyArg_ParseTuple(args, "OO!O!:containing", &root, &PyTuple_Type, &tags, &PyTuple_Type, &words))
        return NULL;
    const char *wanted_tags[16], *wanted_words[16];
    Py_ssize_t tag_count = c_names(tags, wanted_tags, 16, "containing");
    Py_ssize_t word_count = tag_count < 0 ? -1 : c_names(words, wanted_words, 16, "containing");
    if (word_count < 0)
        return NULL;
    xmlNode *top = element_node(root, "containing");
    if (top == NULL)
        return NULL;
    struct LxmlDocument *doc = document_of(root);
    PyObject *found = PyList_New(0);
    if (found == NULL)
        return NULL;
    Buffer text = {NULL, 0, 0};
    for (xmlNode *node = next_in(top, top, 1); node != NULL;
         node = next_in(top, node, node->type == XML_ELEMENT_NODE)) {
        if (!xpath_named(node, wanted_tags, (size_t)tag_count))
            continue;
        if (string_value(&text, node) < 0)
            goto fail;
        for (Py_ssize_t w = 0; w < word_count; w++) {
            if (strstr(text.data, wanted_words[w]) != NULL) {
                if (append_proxy(found, doc, node) < 0)
                    goto fail;
                break;
            }
        }
    }
    PyMem_Free(text.data);
    return found;
fail:
    PyMem_Free(text.data);
    Py_DECREF(found);
    return NULL;
}

/* Is the text (NUL-ended) only XPath's white space and the given spaces (UTF-8 sequences)? */
static int only_spaces(const char *text, const char *const *spaces, Py_ssize_t count) {
    while (*text) {
        if (*text == ' ' || *text == '\t' || *text == '\r' || *text == '\n') {
            text++;
            continue;
        }
        Py_ssize_t s = 0;
        for (; s < count; s++) {
            size_t length = strlen(spaces[s]);
            if (length > 0 && strncmp(text, spaces[s], length) == 0) {
                text += length;
                break;
            }
        }
        if (s == count)
            return 0;
    }
    return 1;
}

static PyObject *unnamed_links(PyObject *self, PyObject *args) {
    PyObject *root, *spaces;
    if (!PyArg_ParseTuple(args, "OO!:unnamed_links", &root, &PyTuple_Type, &spaces))
        return NULL;
    const char *space_chars[8];
    Py_ssize_t space_count = c_names(spaces, space_chars, 8, "unnamed_links");
    if (space_count < 0)
        return NULL;
    xmlNode *top = element_node(root, "unnamed_links");
    if (top == NULL)
        return NULL;
    struct LxmlDocument *doc = document_of(root);
    PyObject *found = PyList_New(0);
    if (found == NULL)
        return NULL;
    static const char *const LINK[] = {"a"}, *const AREA[] = {"area"};
    Buffer text = {NULL, 0, 0};
    for (xmlNode *node = next_in(top, top, 1); node != NULL;
         node = next_in(top, node, node->type == XML_ELEMENT_NODE)) {
        int link = xpath_named(node, LINK, 1);
        if (!(link || xpath_named(node, AREA, 1)) || attribute(node, "href") == NULL)
            continue;
        if (link) {
            if (string_value(&text, node) < 0)
                goto fail;
            if (!only_spaces(text.data, space_chars, space_count))
                continue;
        }
        if (append_proxy(found, doc, node) < 0)
            goto fail;
    }
    PyMem_Free(text.data);
    return found;
fail:
    PyMem_Free(text.data);
    Py_DECREF(found);
    return NULL;
}

/* --- text_says -------------------------------------------------------------------------------------------- */

/* Does text hold a head, then white space or none (Python's \s: str.isspace), then a tail? */
static int head_then_tail(const char *text, const char *head, const char *const *tails, Py_ssize_t tail_count) {
    size_t head_length = strlen(head);
    for (const char *at = strstr(text, head); at != NULL; at = strstr(at + 1, head)) {
        const unsigned char *after = (const unsigned char *)at + head_length;
        int size;
        while (*after && space_at(after, &size))
            after += size;
        for (Py_ssize_t t = 0; t < tail_count; t++)
            if (strncmp((const char *)after, tails[t], strlen(tails[t])) == 0)
                return 1;
    }
    return 0;
}

static PyObject *text_says(PyObject *self, PyObject *args) {
    PyObject *root, *words, *heads, *tails;
    if (!PyArg_ParseTuple(args, "OO!O!O!:text_says", &root, &PyTuple_Type, &words, &PyTuple_Type, &heads,
                          &PyTuple_Type, &tails))
        return NULL;
    const char *wanted_words[16], *wanted_heads[16], *wanted_tails[16];
    Py_ssize_t word_count = c_names(words, wanted_words, 16, "text_says");
    Py_ssize_t head_count = word_count < 0 ? -1 : c_names(heads, wanted_heads, 16, "text_says");
    Py_ssize_t tail_count = head_count < 0 ? -1 : c_names(tails, wanted_tails, 16, "text_says");
    if (tail_count < 0)
        return NULL;
    xmlNode *top = element_node(root, "text_says");
    if (top == NULL)
        return NULL;
    Buffer text = {NULL, 0, 0};
    if (string_value(&text, top) < 0) {
        PyMem_Free(text.data);
        return NULL;
    }
    int says = 0;
    for (Py_ssize_t w = 0; !says && w < word_count; w++)
        says = strstr(text.data, wanted_words[w]) != NULL;
    for (Py_ssize_t h = 0; !says && h < head_count; h++)
        says = head_then_tail(text.data, wanted_heads[h], wanted_tails, tail_count);
    PyMem_Free(text.data);
    return PyBool_FromLong(says);
}

/* --- has_value --------------------------------------------------------------------------------------------- */

/* Is the attribute's value (its text children joined, as XPath's string-value reads it) exactly value? */
static int attribute_equals(const xmlAttr *attr, const char *value) {
    size_t at = 0, length = strlen(value);
    for (const xmlNode *piece = attr->children; piece != NULL; piece = piece->next) {
        if (piece->type != XML_TEXT_NODE || piece->content == NULL)
            continue;
        size_t n = strlen((const char *)piece->content);
        if (n > length - at || memcmp(piece->content, value + at, n) != 0)
            return 0;
        at += n;
    }
    return at == length;
}

static PyObject *has_value(PyObject *self, PyObject *args) {
    PyObject *root, *tags;
    const char *name, *value;
    if (!PyArg_ParseTuple(args, "OO!ss:has_value", &root, &PyTuple_Type, &tags, &name, &value))
        return NULL;
    const char *wanted_tags[16];
    Py_ssize_t tag_count = c_names(tags, wanted_tags, 16, "has_value");
    if (tag_count < 0)
        return NULL;
    xmlNode *top = element_node(root, "has_value");
    if (top == NULL)
        return NULL;
    for (xmlNode *node = top; node != NULL; node = next_in(top, node, node->type == XML_ELEMENT_NODE)) {
        if (node->type != XML_ELEMENT_NODE || (tag_count > 0 && !xpath_named(node, wanted_tags, (size_t)tag_count)))
            continue;
        xmlAttr *attr = attribute(node, name);
        if (attr != NULL && attribute_equals(attr, value))
            Py_RETURN_TRUE;
    }
    Py_RETURN_FALSE;
}

/* --- find_all ---------------------------------------------------------------------------------------- */

#define MAX_WORDS 64

static PyObject *find_all(PyObject *self, PyObject *args) {
    PyObject *text, *words;
    int ignore_case;
    if (!PyArg_ParseTuple(args, "UO!p:find_all", &text, &PyTuple_Type, &words, &ignore_case))
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(words);
    if (count > MAX_WORDS) {
        PyErr_SetString(PyExc_ValueError, "find_all() takes at most 64 words");
        return NULL;
    }
    /* For each low byte of a first character, the words that may start there: one table lookup a position. */
    uint64_t starting[256] = {0};
    for (Py_ssize_t w = 0; w < count; w++) {
        PyObject *word = PyTuple_GET_ITEM(words, w);
        if (!PyUnicode_Check(word) || PyUnicode_GET_LENGTH(word) == 0) {
            PyErr_SetString(PyExc_ValueError, "find_all() words are non-empty strings");
            return NULL;
        }
        Py_UCS4 first = PyUnicode_READ_CHAR(word, 0);
        starting[first & 0xFF] |= (uint64_t)1 << w;
        if (ignore_case && first >= 'a' && first <= 'z')
            starting[(first - ('a' - 'A')) & 0xFF] |= (uint64_t)1 << w;
    }
    PyObject *found = PyList_New(count);
    if (found == NULL)
        return NULL;
    for (Py_ssize_t w = 0; w < count; w++) {
        PyObject *starts = PyList_New(0);
        if (starts == NULL) {
            Py_DECREF(found);
            return NULL;
        }
        PyList_SET_ITEM(found, w, starts);
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    Py_ssize_t i = 0;
    for (;;) {
        /* The next position whose character's low byte starts a word: a tight loop per character width. */
        uint64_t candidates = 0;
        switch (kind) {
        case PyUnicode_1BYTE_KIND: {
            const Py_UCS1 *chars = data;
            while (i < length && !(candidates = starting[chars[i]]))
                i++;
            break;
        }
        case PyUnicode_2BYTE_KIND: {
            const Py_UCS2 *chars = data;
            while (i < length && !(candidates = starting[chars[i] & 0xFF]))
                i++;
            break;
        }
        default: {
            const Py_UCS4 *chars = data;
            while (i < length && !(candidates = starting[chars[i] & 0xFF]))
                i++;
        }
        }
        if (i >= length)
            break;
        while (candidates) {
            int w = __builtin_ctzll(candidates);
            candidates &= candidates - 1;
            PyObject *word = PyTuple_GET_ITEM(words, w);
            Py_ssize_t size = PyUnicode_GET_LENGTH(word);
            if (i + size > length)
                continue;
            int word_kind = PyUnicode_KIND(word);
            const void *word_data = PyUnicode_DATA(word);
            Py_ssize_t j = 0;
            for (; j < size; j++) {
                Py_UCS4 a = PyUnicode_READ(kind, data, i + j), b = PyUnicode_READ(word_kind, word_data, j);
                if (a != b && !(ignore_case && ascii_lower(a) == ascii_lower(b)))
                    break;
            }
            if (j < size)
                continue;
            PyObject *start = PyLong_FromSsize_t(i);
            if (start == NULL || PyList_Append(PyList_GET_ITEM(found, w), start) < 0) {
                Py_XDECREF(start);
                Py_DECREF(found);
                return NULL;
            }
            Py_DECREF(start);
        }
        i++;
    }
    return found;
}

/* The decision measure() and text_of() make before asking aria.hidden: True, False, or None (asked). */
static PyObject *hidden_by_attributes(PyObject *self, PyObject *root) {
    xmlNode *node = element_node(root, "hidden_by_attributes");
    if (node == NULL)
        return NULL;
    int here = hidden_here(node, node->ns == NULL || node->ns->href == NULL);
    if (here < 0)
        return NULL;
    if (here == 2)
        Py_RETURN_NONE;
    return PyBool_FromLong(here);
}

static PyObject *tag_lists(PyObject *self, PyObject *unused) {
    PyObject *not_rendered = PyFrozenSet_New(NULL), *media = PyFrozenSet_New(NULL);
    if (not_rendered == NULL || media == NULL)
        goto fail;
    for (size_t i = 0; i < COUNT(NOT_RENDERED); i++) {
        PyObject *name = PyUnicode_FromString(NOT_RENDERED[i]);
        if (name == NULL || PySet_Add(not_rendered, name) < 0) {
            Py_XDECREF(name);
            goto fail;
        }
        Py_DECREF(name);
    }
    for (size_t i = 0; i < COUNT(MEDIA); i++) {
        PyObject *name = PyUnicode_FromString(MEDIA[i]);
        if (name == NULL || PySet_Add(media, name) < 0) {
            Py_XDECREF(name);
            goto fail;
        }
        Py_DECREF(name);
    }
    return Py_BuildValue("(NN)", not_rendered, media);
fail:
    Py_XDECREF(not_rendered);
    Py_XDECREF(media);
    return NULL;
}

static PyMethodDef methods[] = {
    {"measure", measure, METH_VARARGS, "aria.Measure's walk: (sequence, order, end, through, text, link_text, "
                                       "links, media, frames)."},
    {"text_of", text_of, METH_VARARGS, "aria.text_of's pieces, joined (not squashed)."},
    {"first_text", first_text, METH_VARARGS, "landmarks.first_text."},
    {"text_length", text_length, METH_O, "len(etree.tostring(el, method='text', with_tail=False))."},
    {"own_text", own_text, METH_O, "An element's own text: its text and its children's tails, joined."},
    {"child_spans", child_spans, METH_VARARGS, "The footer search's spans of a parent's child elements."},
    {"number", number, METH_VARARGS, "Every element numbered in document order; those with given attributes."},
    {"with_attributes", with_attributes, METH_VARARGS, "Every attribute of the given names, with its element."},
    {"url_candidates", url_candidates, METH_VARARGS, "with_attributes, less what the links transform passes over."},
    {"grouped_by_value", grouped_by_value, METH_VARARGS, "Elements grouped by an attribute's stripped value."},
    {"text_sample", text_sample, METH_VARARGS, "pagefixes._text_sample: a sample of a page's text."},
    {"attribute_values", attribute_values, METH_VARARGS, "The values of each of the given attributes, per name."},
    {"elements_with", elements_with, METH_VARARGS, "Elements of given tags or with given attributes, in order."},
    {"containing", containing, METH_VARARGS, "Elements of given tags whose text holds one of the words."},
    {"unnamed_links", unnamed_links, METH_VARARGS, "Links with an address and no text; areas with an address."},
    {"text_says", text_says, METH_VARARGS, "Does an element's text hold a word, or a head, spaces, a tail?"},
    {"has_value", has_value, METH_VARARGS, "Is there an element of given tags with name=\"value\"?"},
    {"find_all", find_all, METH_VARARGS, "Every start of each word in a text (see the module's comment)."},
    {"hidden_by_attributes", hidden_by_attributes, METH_O, "aria.hidden where told in C; None where asked."},
    {"tag_lists", tag_lists, METH_NOARGS, "(not rendered, media): the tag names compiled in, for the tests."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_measure",
                                    "The landmark repairs' measuring walk in C (see aria.Measure).", -1, methods};

PyMODINIT_FUNC PyInit__measure(void) {
    if (import_lxml__etree() < 0)
        return NULL; /* an lxml without this C API: the import fails and the reference runs */
    PyObject *etree = PyImport_ImportModule("lxml.etree");
    if (etree == NULL)
        return NULL;
    ELEMENT_TYPE = PyObject_GetAttrString(etree, "_Element");
    Py_DECREF(etree);
    if (ELEMENT_TYPE == NULL)
        return NULL;
    return PyModule_Create(&module);
}
