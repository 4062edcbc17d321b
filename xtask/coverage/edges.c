/* Edge coverage for coroner's fuzz runs: the SanitizerCoverage trace-pc-guard callbacks.
   Each guard gets an index; the first hit marks it in a bitmap; at exit the bitmap is
   written to $COV_DIR/<pid>.bits (one byte per edge): xtask/coverage/merge.py adds them up.
   The figures of docs/damaged-input.md; LLVM's own profile tools are not needed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static uint8_t *g_bits;
static uint32_t g_total;
void __sanitizer_cov_trace_pc_guard_init(uint32_t *start, uint32_t *stop) {
  if (start == stop || *start) return;
  for (uint32_t *x = start; x < stop; x++) *x = ++g_total;
  g_bits = calloc(g_total + 1, 1);
}
void __sanitizer_cov_trace_pc_guard(uint32_t *guard) {
  uint32_t i = *guard;
  if (i && g_bits) { g_bits[i] = 1; *guard = 0; }
}
__attribute__((destructor)) static void cov_report(void) {
  const char *dir = getenv("COV_DIR");
  if (!dir || !g_bits) return;
  char path[4096];
  snprintf(path, sizeof path, "%s/%d.bits", dir, (int)getpid());
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fwrite(g_bits + 1, 1, g_total, f);
  fclose(f);
}
