/*
 * The few MPI calls data-parallel training needs, for Node (Node-API, C).
 *
 *   init()                      -> { rank, size, threadLevel }   MPI_Init_thread
 *   processorName()             -> string                        MPI_Get_processor_name
 *   bcast(typedArray, root)                                      MPI_Bcast (bytes, in place, blocking)
 *   allreduceSum(floatArray)    -> Promise<void>                 MPI_Allreduce (sum, in place; Float32Array or Float64Array)
 *   allreduceSumSync(floatArray)                                 the same, blocking (inside a gradient)
 *   abiVersion                                                   bumped when functions are added
 *   barrier()                   -> Promise<void>                 MPI_Barrier
 *   setTimeout(seconds)                                          how long a collective waits for the others
 *   inFlight()                  -> boolean                       a collective is running on a worker thread
 *   abort(code)                                                  MPI_Abort
 *   finalize()                                                   MPI_Finalize
 *
 * Allreduce and Barrier run on libuv's thread pool, so that the JavaScript thread keeps turning
 * while a rank waits for the others: its signal handlers still run (mpirun's SIGTERM when another
 * rank died, scancel's). Only one collective is in flight at a time (the caller awaits each), so
 * MPI_THREAD_SERIALIZED is enough; MPI_THREAD_MULTIPLE is asked for when the library has it.
 *
 * No rank waits forever for one that hangs (stopped, stuck, in another step): every collective is
 * the non-blocking one (MPI_Iallreduce, MPI_Ibcast, MPI_Ibarrier) tested until a deadline. A rank
 * past it sends a notice with the collective's number to every other rank; a rank that waits in the
 * same collective answers with its own (it reads notices while it waits). After a short grace the
 * ranks not heard from are the missing ones: the collective fails with an error whose `missing`
 * lists them (code ETIMEDOUT), and the caller ends the job (the collective cannot be cancelled).
 */
#include <mpi.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>

#define CHECK_NAPI(env, call)                                              \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error((env), NULL, "cvw_mpi: Node-API call failed: " #call); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static int in_flight = 0;

static napi_value make_int(napi_env env, int v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

/* Seconds a collective waits for every rank before naming the missing ones (setTimeout). */
static double timeout_seconds = 600;
/* Collectives started so far: every rank starts them in the same order, so the numbers match. */
static long long collective_seq = 0;
/* A duplicate of MPI_COMM_WORLD for the notices, apart from any other traffic. */
static MPI_Comm notice_comm = MPI_COMM_NULL;
#define NOTICE_TAG 0x5eb
/* The wait's result when ranks are missing (not an MPI error code). */
#define WAIT_TIMED_OUT -1

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct {
  int rc;          /* MPI_SUCCESS, an MPI error code, or WAIT_TIMED_OUT */
  long long seq;   /* the collective's number */
  double waited;   /* seconds */
  int *missing;    /* WAIT_TIMED_OUT: the ranks not heard from (malloc'd) */
  int n_missing;
} WaitResult;

/* Tell every other rank that this one waits in collective `seq` (the sends are never waited for). */
static void send_notices(long long seq, int rank, int size) {
  long long *value = (long long *)malloc(sizeof(long long)); /* freed by no one: only on a timeout, the job then ends */
  *value = seq;
  for (int r = 0; r < size; r++) {
    if (r == rank) continue;
    MPI_Request req;
    if (MPI_Isend(value, 1, MPI_LONG_LONG, r, NOTICE_TAG, notice_comm, &req) == MPI_SUCCESS) MPI_Request_free(&req);
  }
}

/*
 * Test `req` until it completes or the deadline and the grace after it pass. Notices for earlier
 * collectives (a rank that timed out while the others completed) are read and dropped.
 */
static WaitResult wait_for(MPI_Request *req, long long seq) {
  WaitResult out = {MPI_SUCCESS, seq, 0, NULL, 0};
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  char *heard = (char *)calloc((size_t)size, 1);
  heard[rank] = 1;
  const double start = now_seconds();
  const double deadline = start + timeout_seconds;
  /* Long enough for the present ranks to answer from their polling loops, even on a loaded machine. */
  double grace = timeout_seconds / 10;
  if (grace < 1) grace = 1;
  if (grace > 10) grace = 10;
  double grace_end = 0, next_read = start;
  int notified = 0;
  for (unsigned long spins = 0;; spins++) {
    int done = 0;
    int rc = MPI_Test(req, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) { out.rc = rc; break; }
    if (done) break;
    if ((spins & 63) != 0) { sched_yield(); continue; }
    double now = now_seconds();
    if (now >= next_read) {
      next_read = now + 0.01;
      for (;;) {
        int pending = 0;
        MPI_Status st;
        if (MPI_Iprobe(MPI_ANY_SOURCE, NOTICE_TAG, notice_comm, &pending, &st) != MPI_SUCCESS || !pending) break;
        long long theirs = -1;
        MPI_Recv(&theirs, 1, MPI_LONG_LONG, st.MPI_SOURCE, NOTICE_TAG, notice_comm, MPI_STATUS_IGNORE);
        if (theirs != seq) continue;
        heard[st.MPI_SOURCE] = 1;
        if (!notified) {
          send_notices(seq, rank, size);
          notified = 1;
          grace_end = now + grace;
        }
      }
    }
    if (!notified && now >= deadline) {
      send_notices(seq, rank, size);
      notified = 1;
      grace_end = now + grace;
    }
    if (notified && now >= grace_end) {
      out.rc = WAIT_TIMED_OUT;
      out.missing = (int *)malloc(sizeof(int) * (size_t)size);
      for (int r = 0; r < size; r++) if (!heard[r]) out.missing[out.n_missing++] = r;
      break;
    }
  }
  out.waited = now_seconds() - start;
  free(heard);
  return out;
}

/* The error of a failed wait: `what failed: ...` with code EMPI, or ETIMEDOUT with `missing`, `collective` and `waited`. */
static napi_value wait_error(napi_env env, const char *what, const WaitResult *w) {
  char text[MPI_MAX_ERROR_STRING + 256];
  napi_value msg, error, code;
  if (w->rc == WAIT_TIMED_OUT) {
    snprintf(text, sizeof text, "%s #%lld: %d rank(s) missing after %.1f s", what, w->seq, w->n_missing, w->waited);
  } else {
    char err[MPI_MAX_ERROR_STRING];
    int len = 0;
    err[0] = 0;
    MPI_Error_string(w->rc, err, &len);
    snprintf(text, sizeof text, "%s failed: %s (MPI error %d)", what, err, w->rc);
  }
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, w->rc == WAIT_TIMED_OUT ? "ETIMEDOUT" : "EMPI", NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &error);
  if (w->rc == WAIT_TIMED_OUT) {
    napi_value missing, name, waited;
    napi_create_array_with_length(env, (size_t)w->n_missing, &missing);
    for (int i = 0; i < w->n_missing; i++) napi_set_element(env, missing, (uint32_t)i, make_int(env, w->missing[i]));
    napi_set_named_property(env, error, "missing", missing);
    napi_create_string_utf8(env, what, NAPI_AUTO_LENGTH, &name);
    napi_set_named_property(env, error, "collective", name);
    napi_create_double(env, w->waited, &waited);
    napi_set_named_property(env, error, "waited", waited);
    napi_value seq;
    napi_create_int64(env, w->seq, &seq);
    napi_set_named_property(env, error, "seq", seq);
  }
  return error;
}

/* Wait for a collective started on the JavaScript thread: 1, or 0 with the error thrown. */
static int wait_sync(napi_env env, MPI_Request *req, long long seq, const char *what) {
  WaitResult w = wait_for(req, seq);
  if (w.rc == MPI_SUCCESS) return 1;
  napi_throw(env, wait_error(env, what, &w));
  free(w.missing);
  return 0;
}

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
  if (notice_comm == MPI_COMM_NULL) {
    int rc = MPI_Comm_dup(MPI_COMM_WORLD, &notice_comm);
    if (rc != MPI_SUCCESS) return throw_mpi(env, "MPI_Comm_dup", rc);
  }
  if (notice_comm == MPI_COMM_NULL) {
    int rc = MPI_Comm_dup(MPI_COMM_WORLD, &notice_comm);
    if (rc != MPI_SUCCESS) return throw_mpi(env, "MPI_Comm_dup", rc);
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
  if (in_flight) {
    napi_throw_error(env, NULL, "cvw_mpi: a collective is already in flight (await each one)");
    return NULL;
  }
  MPI_Request req;
  int rc = MPI_Ibcast(data, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD, &req);
  if (rc != MPI_SUCCESS) return throw_mpi(env, "MPI_Ibcast", rc);
  if (!wait_sync(env, &req, ++collective_seq, "MPI_Bcast")) return NULL;
  return undefined_value(env);
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep; /* the array, alive while the worker thread writes into it */
  void *data;
  MPI_Datatype type;
  int count;
  int barrier;
  long long seq;
  WaitResult result;
} Collective;

/*
 * Open MPI's non-blocking allreduce (libnbc) takes about twice as long as the blocking one on
 * buffers of megabytes (4 M floats, 2 ranks: ~13 ms against ~7 ms): a large one waits for every rank
 * in a non-blocking barrier first, then runs the blocking allreduce (all ranks are there by then).
 */
#define LARGE_ALLREDUCE_BYTES (1 << 20)

/* Sum `count` numbers over the ranks in place, waiting at most the timeout for every rank to arrive. */
static WaitResult allreduce_with_deadline(void *data, int count, MPI_Datatype type, long long seq) {
  WaitResult out = {MPI_SUCCESS, seq, 0, NULL, 0};
  MPI_Request req;
  int large = (size_t)count * (type == MPI_DOUBLE ? 8 : 4) >= LARGE_ALLREDUCE_BYTES;
  int rc = large ? MPI_Ibarrier(MPI_COMM_WORLD, &req) : MPI_Iallreduce(MPI_IN_PLACE, data, count, type, MPI_SUM, MPI_COMM_WORLD, &req);
  if (rc != MPI_SUCCESS) {
    out.rc = rc;
    return out;
  }
  out = wait_for(&req, seq);
  if (large && out.rc == MPI_SUCCESS) out.rc = MPI_Allreduce(MPI_IN_PLACE, data, count, type, MPI_SUM, MPI_COMM_WORLD);
  return out;
}

static void collective_execute(napi_env env, void *p) {
  (void)env;
  Collective *c = (Collective *)p;
  if (!c->barrier) {
    c->result = allreduce_with_deadline(c->data, c->count, c->type, c->seq);
    return;
  }
  MPI_Request req;
  int rc = MPI_Ibarrier(MPI_COMM_WORLD, &req);
  if (rc != MPI_SUCCESS) {
    c->result.rc = rc;
    c->result.seq = c->seq;
    return;
  }
  c->result = wait_for(&req, c->seq);
}

static void collective_complete(napi_env env, napi_status status, void *p) {
  Collective *c = (Collective *)p;
  in_flight = 0;
  if (status != napi_ok) {
    napi_value msg, error;
    napi_create_string_utf8(env, "cvw_mpi: the collective was cancelled", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &error);
    napi_reject_deferred(env, c->deferred, error);
  } else if (c->result.rc != MPI_SUCCESS) {
    napi_reject_deferred(env, c->deferred, wait_error(env, c->barrier ? "MPI_Barrier" : "MPI_Allreduce", &c->result));
  } else {
    napi_resolve_deferred(env, c->deferred, undefined_value(env));
  }
  free(c->result.missing);
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
  c->seq = ++collective_seq; /* before the worker thread reads it */
  CHECK_NAPI(env, napi_queue_async_work(env, c->work));
  in_flight = 1;
  return promise;
}

/*
 * The one argument of the allreduces: a Float32Array or Float64Array (statistics summed without
 * float32 rounding) of at most 2^31 - 1 elements (MPI's int count). Returns 0 with a JavaScript
 * exception pending when it is not.
 */
static int float_arg(napi_env env, napi_callback_info info, const char *name, napi_value *array, void **data, int *count, MPI_Datatype *mpi_type) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  void *raw = NULL;
  size_t bytes = 0;
  napi_typedarray_type type;
  char message[128];
  if (argc < 1 || !typed_bytes(env, argv[0], &raw, &bytes, &type) || (type != napi_float32_array && type != napi_float64_array)) {
    snprintf(message, sizeof message, "%s(floatArray): expected a Float32Array or Float64Array", name);
    napi_throw_type_error(env, NULL, message);
    return 0;
  }
  size_t elem = type == napi_float64_array ? 8 : 4;
  if (bytes / elem > (size_t)0x7fffffff) {
    snprintf(message, sizeof message, "%s: more than 2^31 elements in one call", name);
    napi_throw_range_error(env, NULL, message);
    return 0;
  }
  *array = argv[0];
  *data = raw;
  *count = (int)(bytes / elem);
  *mpi_type = type == napi_float64_array ? MPI_DOUBLE : MPI_FLOAT;
  return 1;
}

static napi_value AllreduceSum(napi_env env, napi_callback_info info) {
  napi_value array;
  void *data;
  int count;
  MPI_Datatype type;
  if (!float_arg(env, info, "allreduceSum", &array, &data, &count, &type)) return NULL;
  Collective *c = (Collective *)calloc(1, sizeof(Collective));
  c->data = data;
  c->count = count;
  c->type = type;
  CHECK_NAPI(env, napi_create_reference(env, array, 1, &c->keep));
  return start_collective(env, c, "cvw_mpi.allreduce");
}

/* Blocking: for statistics needed in the middle of a forward or backward pass (SyncBatchNorm). */
static napi_value AllreduceSumSync(napi_env env, napi_callback_info info) {
  napi_value array;
  void *data;
  int count;
  MPI_Datatype type;
  if (!float_arg(env, info, "allreduceSumSync", &array, &data, &count, &type)) return NULL;
  if (in_flight) {
    napi_throw_error(env, NULL, "cvw_mpi: a collective is already in flight (await each one)");
    return NULL;
  }
  WaitResult w = allreduce_with_deadline(data, count, type, ++collective_seq);
  if (w.rc != MPI_SUCCESS) {
    napi_throw(env, wait_error(env, "MPI_Allreduce", &w));
    free(w.missing);
    return NULL;
  }
  return undefined_value(env);
}

static napi_value SetTimeout(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  double seconds = 0;
  if (argc < 1 || napi_get_value_double(env, argv[0], &seconds) != napi_ok || !(seconds > 0)) {
    napi_throw_range_error(env, NULL, "setTimeout(seconds): expected a positive number");
    return NULL;
  }
  timeout_seconds = seconds;
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
    {"setTimeout", NULL, SetTimeout, NULL, NULL, NULL, napi_default, NULL},
    {"inFlight", NULL, InFlight, NULL, NULL, NULL, napi_default, NULL},
    {"abort", NULL, Abort, NULL, NULL, NULL, napi_default, NULL},
    {"finalize", NULL, Finalize, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_set_named_property(env, exports, "abiVersion", make_int(env, 3));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Module)
