/* Small Node-API helpers shared by the addons. */
#ifndef MPTCP_TS_NAPI_UTIL_H
#define MPTCP_TS_NAPI_UTIL_H
#include <node_api.h>

/* One exported function in a module's property list. */
#define NAPI_METHOD(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default_jsproperty, NULL}

/* Defines the listed functions on `exports`. */
#define NAPI_EXPORT(env, exports, props) \
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props)

/* Reads up to `n` arguments into argv (those not given are undefined); returns how many the caller gave. */
static inline size_t get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  return napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok ? argc : 0;
}

/* obj[key] = v, for counters. */
static inline void set_number(napi_env env, napi_value obj, const char *key, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, obj, key, n);
}

#endif
