/* EchoAnalyzer plug-in for Orthanc: every new ultrasound multi-frame instance is analysed off Orthanc's
 * threads, and the DICOM SR (PS3.16 TID 5200) and the overlay images are stored back into Orthanc, in a new
 * series of the same study. A study that the quality gate refuses gets an SR that says why. A file that cannot
 * be analysed is logged (reason only, no patient data) and skipped.
 *
 * C99 over the public C ABI only (<echo/echo.h>, libechoanalyzer.so). Installation: examples/orthanc/README.md.
 *
 * Threads: Orthanc's change callback only appends the instance ID to a queue (bounded, never blocks on the
 * analysis); ECHO_ORTHANC_WORKERS worker threads (default 1) fetch, analyse and store. Environment:
 *   ECHO_ORTHANC_WORKERS   worker threads (1..16, default 1)
 *   ECHO_ORTHANC_THREADS   inference threads per analysis (default 1: leaves the other cores to Orthanc)
 *   ECHO_ORTHANC_MODEL     segmentation model (.pt beside its .json manifest); default: the SDK's bundled one
 *   ECHO_ORTHANC_QUEUE     most instances waiting (default 10000; beyond, new ones are logged and skipped)
 *   ECHO_ORTHANC_NICE      scheduling niceness of the worker threads (default 10: Orthanc's own threads,
 *                          C-STORE and C-ECHO among them, come first when the cores are busy)
 */
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <echo/echo.h>
#include <orthanc/OrthancCPlugin.h>

#define ULTRASOUND_MULTIFRAME "1.2.840.10008.5.1.4.1.1.3.1"
#define MAX_WORKERS 16

typedef struct job {
  struct job* next;
  char instance_id[64]; /* Orthanc's instance identifier (a hash, not a patient attribute) */
} job;

static OrthancPluginContext* g_context = NULL;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_wake = PTHREAD_COND_INITIALIZER;
static job* g_head = NULL;
static job* g_tail = NULL;
static size_t g_queued = 0;
static size_t g_queue_limit = 10000;
static int g_stopping = 0;
static pthread_t g_workers[MAX_WORKERS];
static int g_worker_count = 0;
static pthread_mutex_t g_model_lock = PTHREAD_MUTEX_INITIALIZER; /* apart from g_lock: enqueue never waits on a load */
static echo_model* g_model = NULL; /* loaded by the first worker that needs it; shared by all */
static int g_model_failed = 0;

static void log_info(const char* format, const char* a, const char* b) {
  char line[1024];
  snprintf(line, sizeof line, format, a ? a : "", b ? b : "");
  OrthancPluginLogInfo(g_context, line);
}

static void log_warning(const char* format, const char* a, const char* b) {
  char line[1024];
  snprintf(line, sizeof line, format, a ? a : "", b ? b : "");
  OrthancPluginLogWarning(g_context, line);
}

static int env_int(const char* name, int fallback, int low, int high) {
  const char* value = getenv(name);
  if (value == NULL || *value == '\0') return fallback;
  long v = strtol(value, NULL, 10);
  return v < low ? low : v > high ? high : (int)v;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000.0 + t.tv_nsec / 1e6;
}

/* ---- the queue ------------------------------------------------------------------------------------------ */

static void enqueue(const char* instance_id) {
  job* j;
  if (strlen(instance_id) >= sizeof j->instance_id) return;
  j = (job*)calloc(1, sizeof *j);
  if (j == NULL) return;
  strcpy(j->instance_id, instance_id);
  pthread_mutex_lock(&g_lock);
  if (g_stopping || g_queued >= g_queue_limit) {
    pthread_mutex_unlock(&g_lock);
    log_warning("EchoAnalyzer: queue full or stopping, instance %s not analysed%s", instance_id, "");
    free(j);
    return;
  }
  if (g_tail) g_tail->next = j; else g_head = j;
  g_tail = j;
  ++g_queued;
  pthread_cond_signal(&g_wake);
  pthread_mutex_unlock(&g_lock);
}

/* The next job, or NULL when the plug-in stops. */
static job* dequeue(void) {
  job* j;
  pthread_mutex_lock(&g_lock);
  while (!g_stopping && g_head == NULL) pthread_cond_wait(&g_wake, &g_lock);
  j = g_stopping ? NULL : g_head;
  if (j) {
    g_head = j->next;
    if (g_head == NULL) g_tail = NULL;
    --g_queued;
  }
  pthread_mutex_unlock(&g_lock);
  return j;
}

/* ---- the work ------------------------------------------------------------------------------------------- */

/* 1 when the instance's SOP Class is Ultrasound Multi-frame Image Storage (read from Orthanc, not decoded). */
static int is_ultrasound_multiframe(const char* instance_id) {
  char uri[160];
  OrthancPluginMemoryBuffer answer;
  int match = 0;
  snprintf(uri, sizeof uri, "/instances/%s/content/0008-0016", instance_id);
  if (OrthancPluginRestApiGet(g_context, &answer, uri) != OrthancPluginErrorCode_Success) return 0;
  match = answer.size >= strlen(ULTRASOUND_MULTIFRAME) &&
          memcmp(answer.data, ULTRASOUND_MULTIFRAME, strlen(ULTRASOUND_MULTIFRAME)) == 0 &&
          (answer.size == strlen(ULTRASOUND_MULTIFRAME) ||
           ((const char*)answer.data)[strlen(ULTRASOUND_MULTIFRAME)] == '\0' ||
           ((const char*)answer.data)[strlen(ULTRASOUND_MULTIFRAME)] == ' ');
  OrthancPluginFreeMemoryBuffer(g_context, &answer);
  return match;
}

static echo_model* model(void) {
  echo_model_options options;
  pthread_mutex_lock(&g_model_lock);
  if (g_model == NULL && !g_model_failed) {
    echo_model_options_init(&options, sizeof options);
    options.model_path = getenv("ECHO_ORTHANC_MODEL");
    if (options.model_path != NULL && *options.model_path == '\0') options.model_path = NULL;
    options.threads = env_int("ECHO_ORTHANC_THREADS", 1, 0, 256);
    if (echo_model_load(&options, &g_model) != ECHO_OK) {
      g_model_failed = 1;
      OrthancPluginLogError(g_context, "EchoAnalyzer: cannot load the model; no instance will be analysed");
      log_warning("EchoAnalyzer: %s%s", echo_last_error(), "");
    }
  }
  pthread_mutex_unlock(&g_model_lock);
  return g_model;
}

/* Stores every object of the report into Orthanc; returns how many were stored. The overlay images go first
 * and the SR (object 0) last, so that a viewer or a script that sees the SR finds its images already there. */
static size_t store_report(const echo_dicom_report* report, const char* instance_id) {
  size_t count = 0, stored = 0, n;
  echo_dicom_report_count(report, &count);
  for (n = 1; n <= count; ++n) {
    const size_t i = n % count; /* 1, 2, ..., count - 1, then 0 */
    echo_dicom_object object;
    OrthancPluginMemoryBuffer answer;
    object.struct_size = sizeof object;
    if (echo_dicom_report_object(report, i, &object) != ECHO_OK) continue;
    if (OrthancPluginRestApiPost(g_context, &answer, "/instances", object.data, (uint32_t)object.size) ==
        OrthancPluginErrorCode_Success) {
      OrthancPluginFreeMemoryBuffer(g_context, &answer);
      ++stored;
    } else {
      log_warning("EchoAnalyzer: instance %s: Orthanc refused the %s object", instance_id, object.kind);
    }
  }
  return stored;
}

/* Analyses one stored instance; the DICOM bytes come from Orthanc and are released before returning. */
static void analyse(const char* instance_id) {
  OrthancPluginMemoryBuffer dicom;
  echo_result* result = NULL;
  echo_dicom_report* report = NULL;
  echo_dicom_options options;
  double start = now_ms(), ef = 0.0;
  char summary[256];
  echo_model* m;
  if (!is_ultrasound_multiframe(instance_id)) return; /* our own SR/overlays and every non-cine object */
  m = model();
  if (m == NULL) return;
  if (OrthancPluginGetDicomForInstance(g_context, &dicom, instance_id) != OrthancPluginErrorCode_Success) {
    log_warning("EchoAnalyzer: instance %s: cannot read it back from Orthanc%s", instance_id, "");
    return;
  }
  if (echo_analyze_buffer(m, dicom.data, dicom.size, &result) != ECHO_OK) {
    log_warning("EchoAnalyzer: instance %s not analysed: %s", instance_id, echo_last_error());
    OrthancPluginFreeMemoryBuffer(g_context, &dicom);
    return;
  }
  echo_dicom_options_init(&options, sizeof options);
  options.source_data = dicom.data;
  options.source_size = dicom.size;
  if (echo_result_dicom_report(result, &options, &report) != ECHO_OK) {
    log_warning("EchoAnalyzer: instance %s: no DICOM report: %s", instance_id, echo_last_error());
  } else {
    size_t stored = store_report(report, instance_id);
    if (echo_result_ef_percent(result, &ef) == ECHO_OK) {
      snprintf(summary, sizeof summary, "EF %.1f %%, %zu object(s) stored in %.0f ms", ef, stored, now_ms() - start);
    } else {
      snprintf(summary, sizeof summary, "refused by the quality gate (SR says why), %zu object(s) stored in %.0f ms",
               stored, now_ms() - start);
    }
    log_info("EchoAnalyzer: instance %s analysed: %s", instance_id, summary);
  }
  echo_dicom_report_destroy(report);
  echo_result_destroy(result);
  OrthancPluginFreeMemoryBuffer(g_context, &dicom);
}

static void* worker(void* unused) {
  job* j;
  (void)unused;
  /* Linux: the niceness of this thread only (the rest of Orthanc keeps its priority). */
  setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), env_int("ECHO_ORTHANC_NICE", 10, 0, 19));
  while ((j = dequeue()) != NULL) {
    analyse(j->instance_id);
    free(j);
  }
  return NULL;
}

/* Orthanc's change thread: only queue, never analyse here. */
static OrthancPluginErrorCode on_change(OrthancPluginChangeType change, OrthancPluginResourceType type,
                                        const char* resource_id) {
  if (change == OrthancPluginChangeType_NewInstance && type == OrthancPluginResourceType_Instance && resource_id) {
    enqueue(resource_id);
  }
  return OrthancPluginErrorCode_Success;
}

/* ---- the plug-in's entry points ------------------------------------------------------------------------- */

ORTHANC_PLUGINS_API int32_t OrthancPluginInitialize(OrthancPluginContext* context) {
  int i;
  char line[256];
  g_context = context;
  if (OrthancPluginCheckVersion(context) == 0) {
    OrthancPluginLogError(context, "EchoAnalyzer: this Orthanc is older than the plug-in SDK it was built with");
    return -1;
  }
  OrthancPluginSetDescription(context, "LVEF of echo cines (EchoAnalyzer SDK): DICOM SR and overlays stored back");
  g_queue_limit = (size_t)env_int("ECHO_ORTHANC_QUEUE", 10000, 1, 1000000);
  g_stopping = 0;
  g_worker_count = 0;
  for (i = 0; i < env_int("ECHO_ORTHANC_WORKERS", 1, 1, MAX_WORKERS); ++i) {
    if (pthread_create(&g_workers[i], NULL, worker, NULL) == 0) ++g_worker_count;
  }
  if (g_worker_count == 0) {
    OrthancPluginLogError(context, "EchoAnalyzer: cannot start a worker thread");
    return -1;
  }
  OrthancPluginRegisterOnChangeCallback(context, on_change);
  snprintf(line, sizeof line, "EchoAnalyzer: SDK %s, %d worker(s)", echo_version(), g_worker_count);
  OrthancPluginLogWarning(context, line);
  return 0;
}

ORTHANC_PLUGINS_API void OrthancPluginFinalize(void) {
  int i;
  size_t dropped = 0;
  pthread_mutex_lock(&g_lock);
  g_stopping = 1;
  pthread_cond_broadcast(&g_wake);
  pthread_mutex_unlock(&g_lock);
  for (i = 0; i < g_worker_count; ++i) pthread_join(g_workers[i], NULL);
  while (g_head) {
    job* next = g_head->next;
    free(g_head);
    g_head = next;
    ++dropped;
  }
  g_tail = NULL;
  g_queued = 0;
  if (dropped > 0 && g_context) {
    char line[128];
    snprintf(line, sizeof line, "EchoAnalyzer: stopping with %zu instance(s) not analysed", dropped);
    OrthancPluginLogWarning(g_context, line);
  }
  echo_model_destroy(g_model);
  g_model = NULL;
}

ORTHANC_PLUGINS_API const char* OrthancPluginGetName(void) { return "echoanalyzer"; }

ORTHANC_PLUGINS_API const char* OrthancPluginGetVersion(void) { return echo_version(); }
