/*
 * oneDNN's convolutions for the wasm-ort engine, for Node (Node-API, C++).
 *
 *   init(threads)                      -> { version, isa }      OpenMP threads for every call after it
 *   conv(kind, params, a, b, out)                               one convolution pass, synchronous
 *   impl(kind, params)                 -> string                the kernel oneDNN picked (diagnostics)
 *   cached()                           -> number                primitives kept
 *   abiVersion                                                  bumped when functions change
 *
 * kind 0: forward (a = x, b = filter -> out = y); 1: input gradient (a = dy, b = filter -> out =
 * dx); 2: filter gradient (a = x, b = dy -> out = dw). Activations are NHWC (params[0] = 0) or NCHW
 * (1), filters TensorFlow's [kh, kw, Ci, Co]; every array is float32 and read or written in place
 * (the engine passes views of the wasm heap). params (Int32Array of 18): layout, N, Ci, H, W, Co,
 * kh, kw, Ho, Wo, strideH, strideW, dilationH, dilationW (TensorFlow's: 1 = none), padTop,
 * padLeft, padBottom, padRight.
 *
 * A primitive is created once per (kind, params) and kept (creation takes milliseconds, a call
 * microseconds): at most MAX_CACHED, all dropped when that is passed. Filters go through oneDNN's
 * own blocked layout (a reorder per call: they are small); activations stay in the caller's
 * layout, which the AVX-512/AVX2 kernels read directly. oneDNN's errors become JavaScript errors
 * (the engine then falls back to its onnxruntime kernels for that signature).
 */
#include <node_api.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>
#include <map>
#include <memory>
#include <string>
#include <vector>

using dnnl::memory;
using tag = memory::format_tag;

namespace {

constexpr int ABI_VERSION = 1;
constexpr int PARAM_COUNT = 18;
constexpr size_t MAX_CACHED = 512;

dnnl::engine &cpu() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

struct Entry {
  dnnl::primitive prim;
  memory::desc a, b, out;     // the caller's layouts
  memory::desc weights;       // the primitive's own filter (or filter-gradient) layout
  std::string impl;
  size_t aFloats, bFloats, outFloats;
};

std::map<std::vector<int>, std::shared_ptr<Entry>> cache;

std::shared_ptr<Entry> entryFor(int kind, const int *p) {
  std::vector<int> key(p, p + PARAM_COUNT);
  key.push_back(kind);
  auto found = cache.find(key);
  if (found != cache.end()) return found->second;
  const tag act = p[0] == 1 ? tag::nchw : tag::nhwc;
  const memory::dim n = p[1], ci = p[2], h = p[3], w = p[4], co = p[5], kh = p[6], kw = p[7], ho = p[8], wo = p[9];
  memory::dims strides{p[10], p[11]}, dil{p[12] - 1, p[13] - 1}, padL{p[14], p[15]}, padR{p[16], p[17]};
  memory::desc src({n, ci, h, w}, memory::data_type::f32, act);
  memory::desc dst({n, co, ho, wo}, memory::data_type::f32, act);
  memory::desc userW({co, ci, kh, kw}, memory::data_type::f32, tag::hwio);
  memory::desc anyW({co, ci, kh, kw}, memory::data_type::f32, tag::any);
  auto fwdPd = dnnl::convolution_forward::primitive_desc(
      dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src, anyW, dst, strides, dil, padL, padR), cpu());
  auto e = std::make_shared<Entry>();
  e->b = userW;
  if (kind == 0) {
    e->prim = dnnl::convolution_forward(fwdPd);
    e->weights = fwdPd.weights_desc();
    e->impl = fwdPd.impl_info_str();
    e->a = src; e->out = dst;
  } else if (kind == 1) {
    auto pd = dnnl::convolution_backward_data::primitive_desc(
        dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, src, anyW, dst, strides, dil, padL, padR), cpu(), fwdPd);
    e->prim = dnnl::convolution_backward_data(pd);
    e->weights = pd.weights_desc();
    e->impl = pd.impl_info_str();
    e->a = dst; e->out = src;
  } else {
    auto pd = dnnl::convolution_backward_weights::primitive_desc(
        dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, src, anyW, dst, strides, dil, padL, padR), cpu(), fwdPd);
    e->prim = dnnl::convolution_backward_weights(pd);
    e->weights = pd.diff_weights_desc();
    e->impl = pd.impl_info_str();
    e->a = src; e->b = dst; e->out = userW;
  }
  e->aFloats = e->a.get_size() / sizeof(float);
  e->bFloats = e->b.get_size() / sizeof(float);
  e->outFloats = e->out.get_size() / sizeof(float);
  if (cache.size() >= MAX_CACHED) cache.clear();
  cache[key] = e;
  return e;
}

void run(const Entry &e, int kind, float *a, float *b, float *out) {
  dnnl::stream s(cpu());
  memory am(e.a, cpu(), a), bm(e.b, cpu(), b), om(e.out, cpu(), out);
  if (kind == 2) {
    // Filter gradient: into oneDNN's layout, then reordered into TensorFlow's [kh, kw, Ci, Co].
    if (e.weights == e.out) {
      e.prim.execute(s, {{DNNL_ARG_SRC, am}, {DNNL_ARG_DIFF_DST, bm}, {DNNL_ARG_DIFF_WEIGHTS, om}});
    } else {
      memory dw(e.weights, cpu());
      e.prim.execute(s, {{DNNL_ARG_SRC, am}, {DNNL_ARG_DIFF_DST, bm}, {DNNL_ARG_DIFF_WEIGHTS, dw}});
      dnnl::reorder(dw, om).execute(s, dw, om);
    }
  } else {
    memory wm = bm;
    if (e.weights != e.b) {
      wm = memory(e.weights, cpu());
      dnnl::reorder(bm, wm).execute(s, bm, wm);
    }
    if (kind == 0) e.prim.execute(s, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, om}});
    else e.prim.execute(s, {{DNNL_ARG_DIFF_DST, am}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DIFF_SRC, om}});
  }
  s.wait();
}

napi_value throwError(napi_env env, const std::string &message) {
  napi_throw_error(env, nullptr, ("cvw_onednn: " + message).c_str());
  return nullptr;
}

/* A Float32Array argument's data and length, or null (and a pending exception). */
float *floats(napi_env env, napi_value v, size_t *length) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  napi_typedarray_type type;
  void *data = nullptr;
  if (!is || napi_get_typedarray_info(env, v, &type, length, &data, nullptr, nullptr) != napi_ok || type != napi_float32_array) {
    napi_throw_type_error(env, nullptr, "cvw_onednn: expected a Float32Array");
    return nullptr;
  }
  return static_cast<float *>(data);
}

/* The call's arguments (exactly `count`), its kind and params (the first two), checked; false with a pending exception. */
bool callArgs(napi_env env, napi_callback_info info, size_t count, const char *usage, napi_value *argv, int *kind, int **params) {
  size_t argc = count;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != count) {
    throwError(env, std::string(usage) + " takes " + std::to_string(count) + " arguments");
    return false;
  }
  if (napi_get_value_int32(env, argv[0], kind) != napi_ok || *kind < 0 || *kind > 2) {
    napi_throw_type_error(env, nullptr, "cvw_onednn: kind must be 0 (forward), 1 (input gradient) or 2 (filter gradient)");
    return false;
  }
  bool is = false;
  napi_is_typedarray(env, argv[1], &is);
  napi_typedarray_type type;
  size_t length = 0;
  void *data = nullptr;
  if (!is || napi_get_typedarray_info(env, argv[1], &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_int32_array || length != PARAM_COUNT) {
    napi_throw_type_error(env, nullptr, "cvw_onednn: params must be an Int32Array of 18");
    return false;
  }
  *params = static_cast<int *>(data);
  return true;
}

std::string describe(const dnnl::error &err) {
  return std::string(err.what()) + " (status " + std::to_string(static_cast<int>(err.status)) + ")";
}

napi_value Init(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int threads = 0;
  if (argc > 0) napi_get_value_int32(env, argv[0], &threads);
  if (threads > 0) omp_set_num_threads(threads);
  const dnnl_version_t *v = dnnl_version();
  std::string version = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  const char *isa = "unknown";
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
    case dnnl::cpu_isa::avx2_vnni: isa = "avx2_vnni"; break;
    case dnnl::cpu_isa::avx2: isa = "avx2"; break;
    case dnnl::cpu_isa::avx: isa = "avx"; break;
    case dnnl::cpu_isa::sse41: isa = "sse41"; break;
    default: break;
  }
  napi_value out, vs, is;
  napi_create_object(env, &out);
  napi_create_string_utf8(env, version.c_str(), NAPI_AUTO_LENGTH, &vs);
  napi_create_string_utf8(env, isa, NAPI_AUTO_LENGTH, &is);
  napi_set_named_property(env, out, "version", vs);
  napi_set_named_property(env, out, "isa", is);
  return out;
}

napi_value Conv(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int kind = 0;
  int *params = nullptr;
  if (!callArgs(env, info, 5, "conv(kind, params, a, b, out)", argv, &kind, &params)) return nullptr;
  size_t na = 0, nb = 0, no = 0;
  float *a = floats(env, argv[2], &na);
  if (!a) return nullptr;
  float *b = floats(env, argv[3], &nb);
  if (!b) return nullptr;
  float *out = floats(env, argv[4], &no);
  if (!out) return nullptr;
  try {
    auto e = entryFor(kind, params);
    if (na != e->aFloats || nb != e->bFloats || no != e->outFloats)
      return throwError(env, "array sizes " + std::to_string(na) + ", " + std::to_string(nb) + ", " + std::to_string(no) + " do not match the convolution's " +
                                 std::to_string(e->aFloats) + ", " + std::to_string(e->bFloats) + ", " + std::to_string(e->outFloats));
    run(*e, kind, a, b, out);
  } catch (const dnnl::error &err) {
    return throwError(env, describe(err));
  } catch (const std::exception &err) {
    return throwError(env, err.what());
  }
  return nullptr;
}

napi_value Impl(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int kind = 0;
  int *params = nullptr;
  if (!callArgs(env, info, 2, "impl(kind, params)", argv, &kind, &params)) return nullptr;
  try {
    napi_value out;
    napi_create_string_utf8(env, entryFor(kind, params)->impl.c_str(), NAPI_AUTO_LENGTH, &out);
    return out;
  } catch (const dnnl::error &err) {
    return throwError(env, describe(err));
  }
}

napi_value Cached(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_uint32(env, static_cast<uint32_t>(cache.size()), &out);
  return out;
}

napi_value Module(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"init", nullptr, Init, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv", nullptr, Conv, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"impl", nullptr, Impl, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"cached", nullptr, Cached, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  napi_value abi;
  napi_create_int32(env, ABI_VERSION, &abi);
  napi_set_named_property(env, exports, "abiVersion", abi);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Module)
