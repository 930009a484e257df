/*
 * policy_decide benchmark: how long one decision takes on the example
 * agreement (policy/examples/tri-borough.yaml), for a mix of requests that
 * reach allow rules, deny rules, field withholding, restricted flags and
 * default deny.
 *
 * Each run decides the mix ITERATIONS times; the median over RUNS runs is
 * printed as "policy_decide_ns <value>" (ns per decision).  The heap is
 * measured before and after the timed loops, and the count of bytes it
 * grew by is printed as "policy_decide_heap_growth <bytes>" (0: nothing on
 * the hot path allocates).
 *
 *   build/bench/policy_decide [POLICY_FILE [ITERATIONS]]
 *
 * (ITERATIONS, default 20000, only shortens the run for bench/run --smoke.)
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_time.h"
#include "policy.h"

#define RUNS 21
#define ITERATIONS 20000

static const char *const named[] = { "childrens-sc", "gp-federation", "specialist-bfs" };

#define REQ(f, fs, t, ts, c, sub, pu, b, co, ri, ro, restr, bg, hp)                        \
    { .from = { f, fs }, .to = { t, ts }, .category = c, .subcategory = sub, .purpose = pu, \
      .lawful_basis = b, .consent = co, .risk = ri, .subject_role = ro,                     \
      .restricted = restr, .named_agencies = named, .named_count = 3, .break_glass = bg,    \
      .recipient_holds_perpetrator = hp }

static const policy_request mix[] = {
    REQ("met-police", "police", "housing-hf", "housing", "da_victim", NULL, "safeguarding",
        "public_task_safeguarding", "not_sought_unsafe", "high", "victim", false, false, false),
    REQ("met-police", "police", "housing-assoc", "housing", "da_victim", NULL, "safeguarding",
        "public_task_safeguarding", "refused_overridden", "high", "victim", false, false, true),
    REQ("idva", "idva", "met-police", "police", "da_victim", NULL, "safeguarding",
        "public_task_safeguarding", "refused_overridden", "high", "victim", false, false, false),
    REQ("met-police", "police", "school-hf-primary", "education", "education_notification", NULL,
        "education_safeguarding", "public_task_safeguarding", NULL, "standard", "child", false,
        false, false),
    REQ("nhs-acute", "health", "gp-federation", "health", "harmful_practice", "fgm",
        "safeguarding", "public_task_safeguarding", NULL, "medium", "child", true, false, false),
    REQ("met-police", "police", "childrens-sc", "childrens_social_care", "harmful_practice",
        "hba", "safeguarding", "public_task_safeguarding", NULL, "high", "victim", false, false,
        false),
    REQ("marac", "marac", "housing-rbkc", "housing", "marac_case", NULL, "marac",
        "public_task_safeguarding", NULL, "high", "victim", true, false, false),
    REQ("marac", "marac", "nhs-acute", "health", "marac_research", NULL, "marac",
        "public_task_safeguarding", NULL, NULL, "victim", false, false, false),
    REQ("met-police", "police", "nhs-acute", "health", "da_victim", NULL, "emergency",
        "vital_interests", "not_possible", "high", "victim", false, true, false),
    REQ("met-police", "police", "probation", "probation", "da_victim", NULL, "safeguarding",
        "public_task_safeguarding", "refused_overridden", "high", "victim", false, false, false),
    REQ("met-police", "police", "childrens-sc", "childrens_social_care", "child_in_household",
        NULL, "safeguarding", "legal_obligation_children_act", NULL, "high", "child", false,
        false, false),
    REQ("gp-federation", "health", "nhs-mental-health", "health", "da_victim", NULL,
        "safeguarding", "public_task_safeguarding", "refused", "high", "victim", false, false,
        false),
};
#define MIX (sizeof mix / sizeof mix[0])

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "policy/examples/tri-borough.yaml";
    int iterations = argc > 2 ? atoi(argv[2]) : ITERATIONS;
    if (iterations < 1)
        iterations = ITERATIONS;
    policy *p = NULL;
    fp_error err = { 0 };
    if (policy_load(&p, path, NULL, &err) != FP_OK) {
        fprintf(stderr, "policy_decide: %s\n", err.message);
        return 1;
    }
    double per_run[RUNS];
    size_t allowed = 0;
    policy_decision d;
    size_t heap_before = heap_in_use();
    for (int run = 0; run < RUNS; run++) {
        double t0 = now_ns();
        for (int i = 0; i < iterations; i++) {
            for (size_t k = 0; k < MIX; k++) {
                policy_decide(p, &mix[k], &d);
                allowed += d.allowed;
            }
        }
        per_run[run] = (now_ns() - t0) / ((double)iterations * MIX);
    }
    size_t heap_after = heap_in_use();
    qsort(per_run, RUNS, sizeof per_run[0], bench_cmp_double);
    printf("policy_decide_ns %.1f\n", per_run[RUNS / 2]);
    printf("policy_decide_ns_min %.1f\n", per_run[0]);
    printf("policy_decide_ns_max %.1f\n", per_run[RUNS - 1]);
    printf("policy_decide_heap_growth %zu\n",
           heap_after > heap_before ? heap_after - heap_before : 0);
    printf("policy_decide_mix %zu requests, %zu allowed per pass\n", MIX,
           allowed / ((size_t)RUNS * (size_t)iterations));
    policy_free(p);
    return 0;
}
