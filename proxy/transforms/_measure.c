/* The measuring walk of the landmark repairs (aria.Measure) over libxml2's tree: an optional accelerator.
 *
 * aria.Measure holds the reference implementation and its reasoning; this module does the same walk
 * without a Python loop body per node (getparent, dictionary lookups, .text and .tail made into strings
 * only to be counted), which is where the reference spends its time: about 1.2 ms of the 100 KB page's
 * 4 ms of landmark repairs.  tests/test_measure.py holds the two to identical results, and
 * A11Y_PROXY_NO_EXTENSIONS=1 selects the reference.
 *
 *   measure(root, hidden) -> (sequence, order, end, through, text, link_text, links, media, frames)
 *       the fields of aria.Measure, in its terms: sequence, the measured elements in document order (the
 *       root first); order and end, dictionaries element -> position, and -> position of its last measured
 *       descendant; the rest, lists by position.  hidden(element) is called for the elements whose own
 *       attributes could hide them (style, hidden, aria-hidden; every <input>), as the reference does.
 *
 * The tree is read through lxml's public C API (lxml.etree_api.h: the element proxies) and libxml2's node
 * structures (the headers lxml ships with the libxml2 it is built on).  Nothing is written to the tree.
 * Text is UTF-8 in libxml2: a character is a byte that is not a continuation byte.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function" /* (helpers in lxml's header that this module does not use) */
#include "lxml-version.h"
#include "etree_defs.h"
#include "lxml.etree_api.h"
#pragma GCC diagnostic pop

static PyObject *ELEMENT_TYPE; /* lxml.etree._Element */

/* aria._NOT_RENDERED: elements whose subtree is not measured (test_measure checks the two lists agree). */
static const char *NOT_RENDERED[] = {"script", "style", "noscript", "template", "head", "title", "meta", "link",
                                     "base", "param", "source", "track", "datalist"};
/* aria._MEDIA: elements that count as content without text. */
static const char *MEDIA[] = {"img", "iframe", "frame", "object", "embed", "video", "audio", "canvas", "svg",
                              "input", "select", "textarea", "button", "progress", "meter"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

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

/* Is this element measured (not a non-rendered one, not hidden by its own attributes)?  -1: an error. */
static int measured(xmlNode *node, struct LxmlDocument *doc, PyObject *hidden, PyObject **proxy) {
    *proxy = NULL;
    int plain = node->ns == NULL || node->ns->href == NULL; /* a namespaced tag, "{ns}name", is no HTML name */
    if (plain && named(node->name, NOT_RENDERED, COUNT(NOT_RENDERED)))
        return 0;
    if (!may_hide(node, plain))
        return 1;
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
    if (!PyObject_TypeCheck(root, (PyTypeObject *)ELEMENT_TYPE)) {
        PyErr_SetString(PyExc_TypeError, "measure() needs an lxml element");
        return NULL;
    }
    struct LxmlElement *element = (struct LxmlElement *)root;
    if (element->_c_node == NULL || element->_c_node->type != XML_ELEMENT_NODE) {
        PyErr_SetString(PyExc_TypeError, "measure() needs an element, not a comment or an entity");
        return NULL;
    }
    Walk w = {0};
    Py_ssize_t *scratch = NULL;
    PyObject *sequence = PyList_New(0), *order = NULL, *end = NULL, *result = NULL;
    PyObject *through = NULL, *text = NULL, *link_text = NULL, *links = NULL, *media = NULL, *frames = NULL;
    if (sequence == NULL || PyList_Append(sequence, root) < 0)
        goto done;
    if (walk(&w, element->_c_node, element->_doc, hidden, sequence) < 0)
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
