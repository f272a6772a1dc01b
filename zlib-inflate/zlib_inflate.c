/*
 * inflate(src, out, outLength): inflates the zlib stream `src` (a typed array) into the first
 * `outLength` bytes of `out` with libdeflate, and returns the number of bytes produced, or a
 * negative code: -1 corrupt data, -2 more than outLength bytes, -3 compressed bytes left after the
 * stream's end. A code rather than an exception, so that core/root/inflate-into.ts names the basket
 * in the message, as it does for Node's zlib.
 *
 * libdeflate inflates whole buffers only, which is what a basket is, and about 1.2 times as fast as
 * Node's zlib on ROOT's level-1 baskets (docs/performance.md). One decompressor per Node environment
 * (a worker thread has its own), handed to the function as its data and freed with the environment.
 *
 * swap(bytes, size): reverses the bytes of each size-byte (2, 4 or 8) value of the Uint8Array in
 * place, as Buffer's swap16/32/64 do, for core/root/byte-swap.ts. Node is built for baseline x86-64,
 * whose swap loop moves about 15 GB/s; compiled here with an AVX2 clone chosen at load, the loop
 * moves six times that, and a worker swaps every basket it inflates.
 */
#include <libdeflate.h>
#include <node_api.h>
#include <stdint.h>
#include <string.h>

static int throw_if(napi_env env, napi_status status, const char *message) {
  if (status == napi_ok) return 0;
  napi_throw_type_error(env, NULL, message);
  return 1;
}

static napi_value inflate(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  struct libdeflate_decompressor *d;
  if (throw_if(env, napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&d), "inflate: bad call")) return NULL;
  if (argc != 3) {
    napi_throw_type_error(env, NULL, "inflate(src, out, outLength) takes three arguments");
    return NULL;
  }
  napi_typedarray_type type;
  size_t src_length, out_length;
  void *src, *out;
  double wanted;
  if (throw_if(env, napi_get_typedarray_info(env, argv[0], &type, &src_length, &src, NULL, NULL), "inflate: src must be a typed array")
      || throw_if(env, type == napi_uint8_array ? napi_ok : napi_invalid_arg, "inflate: src must be a Uint8Array")
      || throw_if(env, napi_get_typedarray_info(env, argv[1], &type, &out_length, &out, NULL, NULL), "inflate: out must be a typed array")
      || throw_if(env, type == napi_uint8_array ? napi_ok : napi_invalid_arg, "inflate: out must be a Uint8Array")
      || throw_if(env, napi_get_value_double(env, argv[2], &wanted), "inflate: outLength must be a number")
      || throw_if(env, wanted >= 0 && wanted <= (double)out_length ? napi_ok : napi_invalid_arg, "inflate: outLength must lie within out")) {
    return NULL;
  }
  size_t used_in = 0, produced = 0;
  enum libdeflate_result r = libdeflate_zlib_decompress_ex(d, src, src_length, out, (size_t)wanted, &used_in, &produced);
  int64_t code = r == LIBDEFLATE_SUCCESS ? (used_in == src_length ? (int64_t)produced : -3)
               : r == LIBDEFLATE_INSUFFICIENT_SPACE ? -2 : -1;
  napi_value result;
  napi_create_int64(env, code, &result);
  return result;
}

/* An AVX2 clone beside the baseline one on x86-64, chosen when the addon loads; elsewhere (arm64:
 * kind on a Mac) the compiler's own vector unit, at its baseline. */
#if defined(__x86_64__)
#define CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CLONES
#endif

/* memcpy, not a cast: a typed array's bytes need not be aligned; the compiler makes it a plain load. */
#define SWAP_LOOP(bits)                                                                   \
  CLONES static void swap##bits(uint8_t *p, size_t n) {                                   \
    for (size_t i = 0; i < n; i++) {                                                      \
      uint##bits##_t v;                                                                   \
      memcpy(&v, p + i * sizeof v, sizeof v);                                             \
      v = __builtin_bswap##bits(v);                                                       \
      memcpy(p + i * sizeof v, &v, sizeof v);                                             \
    }                                                                                     \
  }
SWAP_LOOP(16)
SWAP_LOOP(32)
SWAP_LOOP(64)

static napi_value swap(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (throw_if(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL), "swap: bad call")) return NULL;
  if (argc != 2) {
    napi_throw_type_error(env, NULL, "swap(bytes, size) takes two arguments");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length;
  void *bytes;
  uint32_t size;
  if (throw_if(env, napi_get_typedarray_info(env, argv[0], &type, &length, &bytes, NULL, NULL), "swap: bytes must be a typed array")
      || throw_if(env, type == napi_uint8_array ? napi_ok : napi_invalid_arg, "swap: bytes must be a Uint8Array")
      || throw_if(env, napi_get_value_uint32(env, argv[1], &size), "swap: size must be a number")
      || throw_if(env, size == 2 || size == 4 || size == 8 ? napi_ok : napi_invalid_arg, "swap: size must be 2, 4 or 8")
      || throw_if(env, length % size == 0 ? napi_ok : napi_invalid_arg, "swap: the length must be a multiple of size")) {
    return NULL;
  }
  if (size == 2) swap16(bytes, length / 2);
  else if (size == 4) swap32(bytes, length / 4);
  else swap64(bytes, length / 8);
  return NULL;
}

static void free_decompressor(void *d) {
  libdeflate_free_decompressor(d);
}

NAPI_MODULE_INIT() {
  struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
  if (!d) {
    napi_throw_error(env, NULL, "zlib-inflate: libdeflate could not allocate a decompressor");
    return NULL;
  }
  napi_add_env_cleanup_hook(env, free_decompressor, d);
  napi_value fn, swapper, version;
  if (napi_create_function(env, "inflate", NAPI_AUTO_LENGTH, inflate, d, &fn) != napi_ok
      || napi_set_named_property(env, exports, "inflate", fn) != napi_ok
      || napi_create_function(env, "swap", NAPI_AUTO_LENGTH, swap, NULL, &swapper) != napi_ok
      || napi_set_named_property(env, exports, "swap", swapper) != napi_ok
      || napi_create_string_utf8(env, "libdeflate " LIBDEFLATE_VERSION_STRING, NAPI_AUTO_LENGTH, &version) != napi_ok
      || napi_set_named_property(env, exports, "library", version) != napi_ok) {
    return NULL;
  }
  return exports;
}
