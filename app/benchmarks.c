// app/benchmarks.c: read the benchmark problems (problems.json) with libyaml's document API
//
// JSON is YAML flow style, so the config parser's library reads it too. Every field the
// structs need is required: a missing or malformed one is an error naming the file, the
// line:column of the offending node and the problem's name.
#include "benchmarks.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

typedef struct {
    yaml_document_t *doc;
    const char *path;
    char *err;
    size_t errlen;
    const char *problem; /* name of the problem being read, for messages */
} reader;

static int fail_at(reader *r, const yaml_node_t *node, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (node)
        snprintf(r->err, r->errlen, "%s:%zu:%zu: %s%s%s", r->path, node->start_mark.line + 1,
                 node->start_mark.column + 1, r->problem ? r->problem : "", r->problem ? ": " : "",
                 msg);
    else
        snprintf(r->err, r->errlen, "%s: %s", r->path, msg);
    return -1;
}

static yaml_node_t *get_key(reader *r, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE) return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(r->doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE &&
            strcmp((const char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(r->doc, p->value);
    }
    return NULL;
}

static int need_key(reader *r, yaml_node_t *map, const char *key, yaml_node_t **out)
{
    *out = get_key(r, map, key);
    if (!*out) return fail_at(r, map, "missing field '%s'", key);
    return 0;
}

static int scalar_double(reader *r, yaml_node_t *node, const char *what, double *out)
{
    if (!node || node->type != YAML_SCALAR_NODE)
        return fail_at(r, node, "'%s' must be a number", what);
    const char *s = (const char *)node->data.scalar.value;
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE)
        return fail_at(r, node, "'%s' must be a number, got '%s'", what, s);
    return 0;
}

static int scalar_int(reader *r, yaml_node_t *node, const char *what, long *out)
{
    if (!node || node->type != YAML_SCALAR_NODE)
        return fail_at(r, node, "'%s' must be an integer", what);
    const char *s = (const char *)node->data.scalar.value;
    char *end;
    errno = 0;
    *out = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE)
        return fail_at(r, node, "'%s' must be an integer, got '%s'", what, s);
    return 0;
}

static int key_double(reader *r, yaml_node_t *map, const char *key, double *out)
{
    yaml_node_t *v;
    if (need_key(r, map, key, &v)) return -1;
    return scalar_double(r, v, key, out);
}

static int key_int(reader *r, yaml_node_t *map, const char *key, int *out)
{
    yaml_node_t *v;
    long l = 0; /* gcc 12 -O2 false maybe-uninitialized */
    if (need_key(r, map, key, &v) || scalar_int(r, v, key, &l)) return -1;
    if (l < -2147483647L || l > 2147483647L) return fail_at(r, v, "'%s' out of range", key);
    *out = (int)l;
    return 0;
}

static int key_bool(reader *r, yaml_node_t *map, const char *key, int *out)
{
    yaml_node_t *v;
    if (need_key(r, map, key, &v)) return -1;
    const char *s = v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : "";
    if (strcmp(s, "true") == 0)
        *out = 1;
    else if (strcmp(s, "false") == 0)
        *out = 0;
    else
        return fail_at(r, v, "'%s' must be true or false", key);
    return 0;
}

static int key_string(reader *r, yaml_node_t *map, const char *key, char *out, size_t len)
{
    yaml_node_t *v;
    if (need_key(r, map, key, &v)) return -1;
    if (v->type != YAML_SCALAR_NODE) return fail_at(r, v, "'%s' must be a string", key);
    if (v->data.scalar.length >= len)
        return fail_at(r, v, "'%s' longer than %zu characters", key, len - 1);
    memcpy(out, v->data.scalar.value, v->data.scalar.length + 1);
    return 0;
}

static size_t seq_len(const yaml_node_t *seq)
{
    return (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

/* Read a sequence of number rows of width `width` into a freshly allocated double array. */
static int number_rows(reader *r, yaml_node_t *seq, const char *what, int width, double **out,
                       int *count)
{
    *out = NULL;
    *count = 0;
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return fail_at(r, seq, "'%s' must be a list of [%d numbers]", what, width);
    size_t n = seq_len(seq);
    if (n == 0) return 0;
    double *v = malloc(n * (size_t)width * sizeof *v);
    if (!v) return fail_at(r, seq, "out of memory reading '%s'", what);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *row = yaml_document_get_node(r->doc, seq->data.sequence.items.start[i]);
        if (!row || row->type != YAML_SEQUENCE_NODE || seq_len(row) != (size_t)width) {
            free(v);
            return fail_at(r, row ? row : seq, "each '%s' entry must be a list of %d numbers", what,
                           width);
        }
        for (int j = 0; j < width; j++) {
            yaml_node_t *x = yaml_document_get_node(r->doc, row->data.sequence.items.start[j]);
            if (scalar_double(r, x, what, &v[i * (size_t)width + (size_t)j])) {
                free(v);
                return -1;
            }
        }
    }
    *out = v;
    *count = (int)n;
    return 0;
}

static int rects(reader *r, yaml_node_t *seq, const char *what, app_rect **out, int *count)
{
    double *v;
    int n;
    *out = NULL;
    *count = 0;
    if (number_rows(r, seq, what, 4, &v, &n)) return -1;
    if (n == 0) return 0;
    app_rect *a = calloc((size_t)n, sizeof *a);
    if (!a) {
        free(v);
        return fail_at(r, seq, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        a[i] = (app_rect){(int)v[4 * i], (int)v[4 * i + 1], (int)v[4 * i + 2], (int)v[4 * i + 3]};
    }
    free(v);
    *out = a;
    *count = n;
    return 0;
}

static int reported(reader *r, yaml_node_t *map, const char *key, double out[APP_REF_N])
{
    static const char *const cols[APP_REF_N] = {"cnn-lbfgs", "pixels-lbfgs", "pixels-mma",
                                                "pixels-oc"};
    yaml_node_t *m;
    if (need_key(r, map, key, &m)) return -1;
    for (int i = 0; i < APP_REF_N; i++)
        if (key_double(r, m, cols[i], &out[i])) return -1;
    return 0;
}

static int read_problem(reader *r, yaml_node_t *node, app_benchmark *b)
{
    yaml_node_t *v, *w;
    if (node->type != YAML_MAPPING_NODE) return fail_at(r, node, "a problem must be a mapping");
    if (key_string(r, node, "name", b->name, sizeof b->name)) return -1;
    r->problem = b->name;
    if (key_string(r, node, "category", b->category, sizeof b->category) ||
        key_int(r, node, "width", &b->width) || key_int(r, node, "height", &b->height) ||
        key_double(r, node, "density", &b->density) ||
        key_bool(r, node, "mirror_left", &b->mirror_left) ||
        key_bool(r, node, "mirror_right", &b->mirror_right))
        return -1;
    if (b->width <= 0 || b->height <= 0)
        return fail_at(r, node, "grid %dx%d must be positive", b->width, b->height);
    if (!(b->density > 0 && b->density <= 1))
        return fail_at(r, node, "density %g outside (0, 1]", b->density);
    char size_class[16];
    if (key_string(r, node, "size_class", size_class, sizeof size_class)) return -1;
    b->large = strcmp(size_class, "large") == 0;

    if (need_key(r, node, "supports", &v) || need_key(r, v, "x", &w) ||
        rects(r, w, "supports.x", &b->fix_x, &b->n_fix_x) || need_key(r, v, "y", &w) ||
        rects(r, w, "supports.y", &b->fix_y, &b->n_fix_y))
        return -1;

    double *lv;
    if (need_key(r, node, "loads", &v) || number_rows(r, v, "loads", 6, &lv, &b->n_loads))
        return -1;
    if (b->n_loads > 0) {
        b->loads = calloc((size_t)b->n_loads, sizeof *b->loads);
        if (!b->loads) {
            free(lv);
            return fail_at(r, v, "out of memory");
        }
        for (int i = 0; i < b->n_loads; i++) {
            const double *q = lv + 6 * i;
            b->loads[i] = (app_load_rect){(int)q[0], (int)q[1], (int)q[2], (int)q[3], q[4], q[5]};
        }
        free(lv);
    }

    char kind[16];
    if (need_key(r, node, "mask", &v) || key_string(r, v, "kind", kind, sizeof kind)) return -1;
    if (strcmp(kind, "array") == 0) {
        if (need_key(r, v, "void_rects", &w) ||
            rects(r, w, "mask.void_rects", &b->void_rects, &b->n_void))
            return -1;
    } else if (strcmp(kind, "scalar") != 0) {
        return fail_at(r, v, "mask.kind '%s' must be 'scalar' or 'array'", kind);
    }

    long sum = 0;
    if (need_key(r, node, "checks", &v) || key_int(r, v, "n_fixed_dofs", &b->check_n_fixed_dofs) ||
        need_key(r, v, "sum_fixed_dof_indices", &w) ||
        scalar_int(r, w, "sum_fixed_dof_indices", &sum) ||
        key_int(r, v, "n_loaded_nodes", &b->check_n_loaded_nodes) ||
        key_double(r, v, "sum_fx", &b->check_sum_fx) ||
        key_double(r, v, "sum_fy", &b->check_sum_fy))
        return -1;
    b->check_sum_fixed_dofs = sum;

    if (need_key(r, node, "reported_compliance_step1000", &v) ||
        reported(r, v, "typical_median", b->typical) ||
        reported(r, v, "best_of_ensemble", b->ensemble))
        return -1;
    if (need_key(r, node, "reference_initial_compliance", &v) || key_double(r, v, "c0", &b->c0))
        return -1;
    r->problem = NULL;
    return 0;
}

void app_benchmarks_free(app_benchmark *b, int n)
{
    if (!b) return;
    for (int i = 0; i < n; i++) {
        free(b[i].fix_x);
        free(b[i].fix_y);
        free(b[i].loads);
        free(b[i].void_rects);
    }
    free(b);
}

int app_benchmarks_load(const char *path, app_benchmark **out, int *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    reader r = {.path = path, .err = err, .errlen = errlen};
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        snprintf(err, errlen, "%s: cannot initialize the parser", path);
        return -1;
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
                 parser.problem_mark.column + 1, parser.problem ? parser.problem : "parse error");
        yaml_parser_delete(&parser);
        fclose(f);
        return -1;
    }
    yaml_parser_delete(&parser);
    fclose(f);
    r.doc = &doc;

    int rc = -1, count = 0;
    app_benchmark *b = NULL;
    yaml_node_t *root = yaml_document_get_root_node(&doc), *list;
    if (!root) {
        fail_at(&r, NULL, "empty document");
        goto done;
    }
    if (need_key(&r, root, "problems", &list)) goto done;
    if (list->type != YAML_SEQUENCE_NODE || seq_len(list) == 0) {
        fail_at(&r, list, "'problems' must be a non-empty list");
        goto done;
    }
    size_t np = seq_len(list);
    b = calloc(np, sizeof *b);
    if (!b) {
        fail_at(&r, list, "out of memory for %zu problems", np);
        goto done;
    }
    for (size_t i = 0; i < np; i++) {
        yaml_node_t *p = yaml_document_get_node(&doc, list->data.sequence.items.start[i]);
        count = (int)i + 1;
        if (read_problem(&r, p, &b[i])) goto done;
    }
    rc = 0;
done:
    yaml_document_delete(&doc);
    if (rc != 0) {
        app_benchmarks_free(b, count);
        return -1;
    }
    *out = b;
    *n = count;
    return 0;
}

int app_benchmarks_find(const app_benchmark *b, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(b[i].name, name) == 0) return i;
    return -1;
}
