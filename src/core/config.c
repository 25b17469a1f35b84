// SPDX-License-Identifier: MIT
/*
 * Configuration file (JSON, json-c) and --device flags into one list of
 * devices. Every error names the file, the key as a JSON path and what was
 * expected, so a wrong file is fixed in one round.
 */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#define CONFIG_MAX_DEPTH 16
#define VALUE_MAX 1024 /* bytes of a device option's value, with its NUL */
#define TOP_KEYS "log_level, control, isolate or devices"
#define CONTROL_KEYS "socket, mode, group or idle_timeout"

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->control_mode = 0600;
}

void config_free(struct config *c)
{
	for (unsigned i = 0; i < c->ndevs; i++) {
		opts_free(&c->devs[i].opts);
		free(c->devs[i].where);
	}
	free(c->devs);
	free(c->control_path);
	free(c->control_group);
	free(c->isolate_user);
	config_init(c);
}

static struct config_device *new_device(struct config *c)
{
	struct config_device *d = realloc(c->devs, (c->ndevs + 1) * sizeof(*d));

	if (!d)
		return NULL;
	c->devs = d;
	d = &c->devs[c->ndevs];
	memset(d, 0, sizeof(*d));
	return d;
}

int config_add_spec(struct config *c, const char *spec)
{
	struct config_device *d = new_device(c);
	char err[256] = "";
	int ret;

	if (!d)
		return -ENOMEM;
	ret = opts_parse(&d->opts, spec, err, sizeof(err));
	if (ret) {
		pr_err("--device %s: %s", spec, err);
		return ret;
	}
	if (asprintf(&d->where, "--device %s", spec) < 0) {
		opts_free(&d->opts);
		return -ENOMEM;
	}
	c->ndevs++;
	return 0;
}

/* ---- JSON device objects ---- */

/* A string member as C text: not cut short by a NUL in it. */
static bool plain_string(struct json_object *v)
{
	return json_object_is_type(v, json_type_string) &&
	       strlen(json_object_get_string(v)) == (size_t)json_object_get_string_len(v);
}

/* -EINVAL not a string, an integer or a boolean; -EILSEQ a NUL in it; -E2BIG too long. */
static int value_string(struct json_object *v, char *buf, size_t len)
{
	switch (json_object_get_type(v)) {
	case json_type_string:
		if (!plain_string(v))
			return -EILSEQ;
		if ((size_t)json_object_get_string_len(v) >= len)
			return -E2BIG;
		snprintf(buf, len, "%s", json_object_get_string(v));
		return 0;
	case json_type_int:
		/* json-c keeps integers beyond int64 as uint64 */
		if (json_object_get_int64(v) == INT64_MAX)
			snprintf(buf, len, "%" PRIu64, json_object_get_uint64(v));
		else
			snprintf(buf, len, "%" PRId64, json_object_get_int64(v));
		return 0;
	case json_type_boolean:
		snprintf(buf, len, "%s", json_object_get_boolean(v) ? "on" : "off");
		return 0;
	default:
		return -EINVAL;
	}
}

int opts_from_json(struct opts *o, struct json_object *obj, char *key, size_t keylen, char *err,
		   size_t errlen)
{
	struct json_object *model;
	char value[VALUE_MAX];
	int ret = 0;

	memset(o, 0, sizeof(*o));
	key[0] = '\0';
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "expected a device object {\"model\": NAME, \"socket\": PATH, ...}");
		return -EINVAL;
	}
	if (!json_object_object_get_ex(obj, "model", &model) || !plain_string(model) ||
	    !*json_object_get_string(model)) {
		snprintf(key, keylen, "model");
		snprintf(err, errlen, "expected the device model's name (see iomed --help)");
		return -EINVAL;
	}
	o->model = strdup(json_object_get_string(model));
	if (!o->model)
		return -ENOMEM;
	json_object_object_foreach(obj, k, v) {
		if (!strcmp(k, "model"))
			continue;
		snprintf(key, keylen, "%s", k);
		ret = value_string(v, value, sizeof(value));
		if (ret) {
			if (ret == -E2BIG)
				snprintf(err, errlen, "longer than %d bytes", VALUE_MAX - 1);
			else
				snprintf(err, errlen, "%s", ret == -EILSEQ ?
					 "a NUL character in the string" :
					 "expected a string, an integer or a boolean");
			ret = -EINVAL;
			break;
		}
		ret = opts_set(o, k, value, err, errlen);
		if (ret)
			break;
	}
	if (!ret)
		key[0] = '\0';
	else
		opts_free(o);
	return ret;
}

void opts_key_of_error(const struct opts *o, const char *msg, char *key, size_t keylen)
{
	size_t n = 0;

	key[0] = '\0';
	while (isalnum((unsigned char)msg[n]) || msg[n] == '-' || msg[n] == '_')
		n++;
	if (!n || (msg[n] != '=' && msg[n] != ' ' && msg[n] != ':'))
		return;
	for (unsigned i = 0; i < o->count; i++) {
		if (strlen(o->items[i].key) == n && !strncmp(o->items[i].key, msg, n)) {
			snprintf(key, keylen, "%s", o->items[i].key);
			return;
		}
	}
}

/* ---- the file ---- */

static int read_file(const char *file, char **out, size_t *len)
{
	struct stat st;
	ssize_t n;
	char *buf;
	int fd, ret = 0;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		goto out;
	}
	if (st.st_size > CONFIG_MAX_BYTES) {
		ret = -EFBIG;
		goto out;
	}
	buf = malloc(st.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	n = read(fd, buf, st.st_size);
	if (n < 0) {
		ret = -errno;
		free(buf);
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
out:
	close(fd);
	return ret;
}

static void where_in_text(const char *text, size_t off, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && text[i]; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static struct json_object *parse_text(const char *file, const char *text, size_t len)
{
	struct json_tokener *tok;
	struct json_object *root;
	unsigned line, col;
	size_t end = strlen(text);

	/* The text ends at its first NUL for the parser: what follows would go unread. */
	if (end < len) {
		where_in_text(text, end, &line, &col);
		pr_err("%s:%u:%u: malformed JSON: a NUL byte", file, line, col);
		return NULL;
	}
	tok = json_tokener_new_ex(CONFIG_MAX_DEPTH);
	if (!tok)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, text, (int)len + 1); /* with the NUL: the end is final */
	end = json_tokener_get_parse_end(tok);
	while (end < len && isspace((unsigned char)text[end]))
		end++;
	if (!root || end < len) {
		const char *why = root ? "text after the top-level object"
				       : json_tokener_error_desc(json_tokener_get_error(tok));

		where_in_text(text, end, &line, &col);
		pr_err("%s:%u:%u: malformed JSON: %s", file, line, col, why);
		json_object_put(root);
		root = NULL;
	}
	json_tokener_free(tok);
	return root;
}

static int load_device(struct config *c, const char *file, unsigned index, struct json_object *obj)
{
	struct config_device *d = new_device(c);
	char key[64], err[256];
	int ret;

	if (!d)
		return -ENOMEM;
	ret = opts_from_json(&d->opts, obj, key, sizeof(key), err, sizeof(err));
	if (ret) {
		pr_err("%s: devices[%u]%s%s: %s", file, index, *key ? "." : "", key, err);
		return ret;
	}
	if (asprintf(&d->where, "%s: devices[%u]", file, index) < 0) {
		opts_free(&d->opts);
		return -ENOMEM;
	}
	d->json = true;
	c->ndevs++;
	return 0;
}

static int load_devices(struct config *c, const char *file, struct json_object *arr)
{
	int ret;

	if (!json_object_is_type(arr, json_type_array)) {
		pr_err("%s: devices: expected an array of device objects", file);
		return -EINVAL;
	}
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		ret = load_device(c, file, (unsigned)i, json_object_array_get_idx(arr, i));
		if (ret)
			return ret;
	}
	return 0;
}

/* One key of an object of the file, and what loads its value. */
struct key_loader {
	const char *key;
	int (*load)(struct config *c, const char *file, struct json_object *v);
};

/* Hand each member of @obj (at JSON path @where) to its loader; any other key is an error. */
static int load_keys(struct config *c, const char *file, const char *where,
		     struct json_object *obj, const struct key_loader *loaders, const char *expected)
{
	json_object_object_foreach(obj, k, v) {
		const struct key_loader *l;
		int ret;

		for (l = loaders; l->key && strcmp(l->key, k); l++)
			;
		if (!l->key) {
			pr_err("%s: %s%s: unknown key (expected %s)", file, where, k, expected);
			return -EINVAL;
		}
		ret = l->load(c, file, v);
		if (ret)
			return ret;
	}
	return 0;
}

static int control_string(const char *file, const char *key, struct json_object *v, char **out)
{
	if (!plain_string(v) || !*json_object_get_string(v)) {
		pr_err("%s: control.%s: expected a non-empty string (without NUL)", file, key);
		return -EINVAL;
	}
	free(*out);
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : -ENOMEM;
}

static int control_socket(struct config *c, const char *file, struct json_object *v)
{
	return control_string(file, "socket", v, &c->control_path);
}

static int control_group(struct config *c, const char *file, struct json_object *v)
{
	int ret = control_string(file, "group", v, &c->control_group);

	/* A group that is not there is the file's error, and --check-config says so. */
	if (!ret && !getgrnam(c->control_group)) {
		pr_err("%s: control.group: no group '%s'", file, c->control_group);
		ret = -EINVAL;
	}
	return ret;
}

static int control_mode(struct config *c, const char *file, struct json_object *v)
{
	const char *s = json_object_get_string(v);
	unsigned long mode;
	char *end;

	if (json_object_is_type(v, json_type_string) && *s) {
		errno = 0;
		mode = strtoul(s, &end, 8);
		if (!errno && !*end && mode <= 0777 && *s != '-') {
			c->control_mode = (unsigned)mode;
			return 0;
		}
	}
	pr_err("%s: control.mode: expected permission bits as an octal string such as \"0660\"",
	       file);
	return -EINVAL;
}

static int control_idle(struct config *c, const char *file, struct json_object *v)
{
	int64_t secs = json_object_get_int64(v);

	if (json_object_is_type(v, json_type_int) && secs >= 1 && secs <= 86400) {
		c->control_idle_s = (unsigned)secs;
		return 0;
	}
	pr_err("%s: control.idle_timeout: expected seconds from 1 to 86400", file);
	return -EINVAL;
}

static int load_control(struct config *c, const char *file, struct json_object *obj)
{
	static const struct key_loader loaders[] = {
		{ "socket", control_socket }, { "group", control_group }, { "mode", control_mode },
		{ "idle_timeout", control_idle }, { NULL, NULL },
	};
	int ret;

	if (!json_object_is_type(obj, json_type_object)) {
		pr_err("%s: control: expected an object with " CONTROL_KEYS, file);
		return -EINVAL;
	}
	ret = load_keys(c, file, "control.", obj, loaders, CONTROL_KEYS);
	if (ret)
		return ret;
	if (!c->control_path) {
		pr_err("%s: control.socket: missing (expected the control socket's path)", file);
		return -EINVAL;
	}
	return 0;
}

static int isolate_user(struct config *c, const char *file, struct json_object *v)
{
	if (!plain_string(v) || !*json_object_get_string(v)) {
		pr_err("%s: isolate.user: expected a user name or uid as a non-empty string", file);
		return -EINVAL;
	}
	free(c->isolate_user);
	c->isolate_user = strdup(json_object_get_string(v));
	return c->isolate_user ? 0 : -ENOMEM;
}

/* "isolate": true, false, or {"user": USER} (isolated, as USER). */
static int load_isolate(struct config *c, const char *file, struct json_object *v)
{
	static const struct key_loader loaders[] = { { "user", isolate_user }, { NULL, NULL } };

	if (json_object_is_type(v, json_type_boolean)) {
		c->isolate = json_object_get_boolean(v);
		return 0;
	}
	if (!json_object_is_type(v, json_type_object)) {
		pr_err("%s: isolate: expected true, false or an object with user", file);
		return -EINVAL;
	}
	c->isolate = true;
	return load_keys(c, file, "isolate.", v, loaders, "user");
}

static int load_log_level(struct config *c, const char *file, struct json_object *v)
{
	if (!plain_string(v) || log_parse_level(json_object_get_string(v), &c->log_level)) {
		pr_err("%s: log_level: expected \"error\", \"warn\", \"info\", \"debug\" or \"trace\"",
		       file);
		return -EINVAL;
	}
	c->has_log_level = true;
	return 0;
}

static int load_root(struct config *c, const char *file, struct json_object *root)
{
	static const struct key_loader loaders[] = {
		{ "log_level", load_log_level }, { "control", load_control },
		{ "isolate", load_isolate }, { "devices", load_devices }, { NULL, NULL },
	};

	if (!json_object_is_type(root, json_type_object)) {
		pr_err("%s: expected a JSON object with " TOP_KEYS " at the top level", file);
		return -EINVAL;
	}
	return load_keys(c, file, "", root, loaders, TOP_KEYS);
}

int config_load(struct config *c, const char *file)
{
	struct json_object *root;
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = read_file(file, &text, &len);
	if (ret) {
		pr_err("%s: cannot read: %s", file,
		       ret == -EFBIG ? "larger than 4 MiB" :
		       ret == -EINVAL ? "not a regular file" : strerror(-ret));
		return ret;
	}
	root = parse_text(file, text, len);
	free(text);
	if (!root)
		return -EINVAL;
	ret = load_root(c, file, root);
	json_object_put(root);
	return ret;
}
