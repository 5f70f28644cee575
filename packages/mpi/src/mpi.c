/*
 * The few MPI calls data-parallel training needs, for Node (Node-API, C).
 *
 *   init()                      -> { rank, size, threadLevel }   MPI_Init_thread
 *   processorName()             -> string                        MPI_Get_processor_name
 *   bcast(typedArray, root)                                      MPI_Bcast (bytes, in place, blocking)
 *   allreduceSum(float32Array)  -> Promise<void>                 MPI_Allreduce (sum, float32, in place)
 *   allreduceSumSync(float32Array)                               the same, blocking (inside a gradient)
 *   abiVersion                                                   bumped when functions are added
 *   barrier()                   -> Promise<void>                 MPI_Barrier
 *   inFlight()                  -> boolean                       a collective is running on a worker thread
 *   abort(code)                                                  MPI_Abort
 *   finalize()                                                   MPI_Finalize
 *
 * Allreduce and Barrier run on libuv's thread pool, so that the JavaScript thread keeps turning
 * while a rank waits for the others: its signal handlers still run (mpirun's SIGTERM when another
 * rank died, scancel's). Only one collective is in flight at a time (the caller awaits each), so
 * MPI_THREAD_SERIALIZED is enough; MPI_THREAD_MULTIPLE is asked for when the library has it.
 */
#include <mpi.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_NAPI(env, call)                                              \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error((env), NULL, "cvw_mpi: Node-API call failed: " #call); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static int in_flight = 0;

static napi_value throw_mpi(napi_env env, const char *what, int code) {
  char msg[MPI_MAX_ERROR_STRING + 128];
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  text[0] = 0;
  MPI_Error_string(code, text, &len);
  snprintf(msg, sizeof msg, "%s failed: %s (MPI error %d)", what, text, code);
  napi_throw_error(env, "EMPI", msg);
  return NULL;
}

static napi_value make_int(napi_env env, int v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

static napi_value undefined_value(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static napi_value Init(napi_env env, napi_callback_info info) {
  (void)info;
  int initialized = 0;
  MPI_Initialized(&initialized);
  int provided = 0;
  if (!initialized) {
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided);
    if (rc != MPI_SUCCESS) return throw_mpi(env, "MPI_Init_thread", rc);
    /* Errors come back as exceptions instead of aborting the process without a word. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  } else {
    MPI_Query_thread(&provided);
  }
  if (provided < MPI_THREAD_SERIALIZED) {
    napi_throw_error(env, "EMPI", "cvw_mpi: the MPI library gives no MPI_THREAD_SERIALIZED support (collectives run on a worker thread)");
    return NULL;
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  napi_value out;
  CHECK_NAPI(env, napi_create_object(env, &out));
  napi_set_named_property(env, out, "rank", make_int(env, rank));
  napi_set_named_property(env, out, "size", make_int(env, size));
  napi_set_named_property(env, out, "threadLevel", make_int(env, provided));
  return out;
}

static napi_value ProcessorName(napi_env env, napi_callback_info info) {
  (void)info;
  char name[MPI_MAX_PROCESSOR_NAME + 1];
  int len = 0;
  int rc = MPI_Get_processor_name(name, &len);
  if (rc != MPI_SUCCESS) return throw_mpi(env, "MPI_Get_processor_name", rc);
  napi_value out;
  CHECK_NAPI(env, napi_create_string_utf8(env, name, (size_t)len, &out));
  return out;
}

/* The bytes of a typed array or Buffer argument. */
static int typed_bytes(napi_env env, napi_value v, void **data, size_t *bytes, napi_typedarray_type *type) {
  bool is_typed = false;
  napi_is_typedarray(env, v, &is_typed);
  if (!is_typed) return 0;
  size_t length = 0, offset = 0;
  napi_value buffer;
  if (napi_get_typedarray_info(env, v, type, &length, data, &buffer, &offset) != napi_ok) return 0;
  size_t elem = 1;
  switch (*type) {
    case napi_int16_array: case napi_uint16_array: elem = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
    default: elem = 1;
  }
  *bytes = length * elem;
  return 1;
}

static napi_value Bcast(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *data = NULL;
  size_t bytes = 0;
  napi_typedarray_type type;
  if (argc < 2 || !typed_bytes(env, argv[0], &data, &bytes, &type)) {
    napi_throw_type_error(env, NULL, "bcast(typedArray, root): expected a typed array and a root rank");
    return NULL;
  }
  int root = 0;
  CHECK_NAPI(env, napi_get_value_int32(env, argv[1], &root));
  if (bytes > (size_t)0x7fffffff) {
    napi_throw_range_error(env, NULL, "bcast: more than 2 GiB in one call");
    return NULL;
  }
  int rc = MPI_Bcast(data, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return throw_mpi(env, "MPI_Bcast", rc);
  return undefined_value(env);
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep; /* the array, alive while the worker thread writes into it */
  float *data;
  int count;
  int rc;
  int barrier;
} Collective;

static void collective_execute(napi_env env, void *p) {
  (void)env;
  Collective *c = (Collective *)p;
  if (c->barrier) c->rc = MPI_Barrier(MPI_COMM_WORLD);
  else c->rc = MPI_Allreduce(MPI_IN_PLACE, c->data, c->count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}

static void collective_complete(napi_env env, napi_status status, void *p) {
  Collective *c = (Collective *)p;
  in_flight = 0;
  if (status != napi_ok || c->rc != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING + 64];
    char err[MPI_MAX_ERROR_STRING];
    int len = 0;
    err[0] = 0;
    if (c->rc != MPI_SUCCESS) MPI_Error_string(c->rc, err, &len);
    snprintf(text, sizeof text, "%s failed: %s", c->barrier ? "MPI_Barrier" : "MPI_Allreduce", c->rc != MPI_SUCCESS ? err : "cancelled");
    napi_value msg, error;
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &error);
    napi_reject_deferred(env, c->deferred, error);
  } else {
    napi_resolve_deferred(env, c->deferred, undefined_value(env));
  }
  if (c->keep) napi_delete_reference(env, c->keep);
  napi_delete_async_work(env, c->work);
  free(c);
}

static napi_value start_collective(napi_env env, Collective *c, const char *name) {
  napi_value promise, resource_name;
  if (in_flight) {
    if (c->keep) napi_delete_reference(env, c->keep);
    free(c);
    napi_throw_error(env, NULL, "cvw_mpi: a collective is already in flight (await each one)");
    return NULL;
  }
  CHECK_NAPI(env, napi_create_promise(env, &c->deferred, &promise));
  CHECK_NAPI(env, napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name));
  CHECK_NAPI(env, napi_create_async_work(env, NULL, resource_name, collective_execute, collective_complete, c, &c->work));
  CHECK_NAPI(env, napi_queue_async_work(env, c->work));
  in_flight = 1;
  return promise;
}

/*
 * The one argument of the allreduces: a Float32Array of at most 2^31 - 1 elements (MPI's int count).
 * Returns 0 with a JavaScript exception pending when it is not.
 */
static int float32_arg(napi_env env, napi_callback_info info, const char *name, napi_value *array, float **data, int *count) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  void *raw = NULL;
  size_t bytes = 0;
  napi_typedarray_type type;
  char message[128];
  if (argc < 1 || !typed_bytes(env, argv[0], &raw, &bytes, &type) || type != napi_float32_array) {
    snprintf(message, sizeof message, "%s(float32Array): expected a Float32Array", name);
    napi_throw_type_error(env, NULL, message);
    return 0;
  }
  if (bytes / 4 > (size_t)0x7fffffff) {
    snprintf(message, sizeof message, "%s: more than 2^31 elements in one call", name);
    napi_throw_range_error(env, NULL, message);
    return 0;
  }
  *array = argv[0];
  *data = (float *)raw;
  *count = (int)(bytes / 4);
  return 1;
}

static napi_value AllreduceSum(napi_env env, napi_callback_info info) {
  napi_value array;
  float *data;
  int count;
  if (!float32_arg(env, info, "allreduceSum", &array, &data, &count)) return NULL;
  Collective *c = (Collective *)calloc(1, sizeof(Collective));
  c->data = data;
  c->count = count;
  CHECK_NAPI(env, napi_create_reference(env, array, 1, &c->keep));
  return start_collective(env, c, "cvw_mpi.allreduce");
}

/* Blocking: for statistics needed in the middle of a forward or backward pass (SyncBatchNorm). */
static napi_value AllreduceSumSync(napi_env env, napi_callback_info info) {
  napi_value array;
  float *data;
  int count;
  if (!float32_arg(env, info, "allreduceSumSync", &array, &data, &count)) return NULL;
  if (in_flight) {
    napi_throw_error(env, NULL, "cvw_mpi: a collective is already in flight (await each one)");
    return NULL;
  }
  int rc = MPI_Allreduce(MPI_IN_PLACE, data, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return throw_mpi(env, "MPI_Allreduce", rc);
  return undefined_value(env);
}

static napi_value Barrier(napi_env env, napi_callback_info info) {
  (void)info;
  Collective *c = (Collective *)calloc(1, sizeof(Collective));
  c->barrier = 1;
  return start_collective(env, c, "cvw_mpi.barrier");
}

static napi_value InFlight(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_get_boolean(env, in_flight != 0, &out);
  return out;
}

static napi_value Abort(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int code = 1;
  if (argc >= 1) napi_get_value_int32(env, argv[0], &code);
  MPI_Abort(MPI_COMM_WORLD, code);
  return undefined_value(env);
}

static napi_value Finalize(napi_env env, napi_callback_info info) {
  (void)info;
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) {
    int rc = MPI_Finalize();
    if (rc != MPI_SUCCESS) return throw_mpi(env, "MPI_Finalize", rc);
  }
  return undefined_value(env);
}

static napi_value Module(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"init", NULL, Init, NULL, NULL, NULL, napi_default, NULL},
    {"processorName", NULL, ProcessorName, NULL, NULL, NULL, napi_default, NULL},
    {"bcast", NULL, Bcast, NULL, NULL, NULL, napi_default, NULL},
    {"allreduceSum", NULL, AllreduceSum, NULL, NULL, NULL, napi_default, NULL},
    {"allreduceSumSync", NULL, AllreduceSumSync, NULL, NULL, NULL, napi_default, NULL},
    {"barrier", NULL, Barrier, NULL, NULL, NULL, napi_default, NULL},
    {"inFlight", NULL, InFlight, NULL, NULL, NULL, napi_default, NULL},
    {"abort", NULL, Abort, NULL, NULL, NULL, napi_default, NULL},
    {"finalize", NULL, Finalize, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_set_named_property(env, exports, "abiVersion", make_int(env, 2));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Module)
