// Start-up check of the indextts executable (see startup.c). Nothing to call: the check runs before main.
#ifndef INDEXTTS_STARTUP_H
#define INDEXTTS_STARTUP_H
/// 1 once the start-up check has run and passed (or was not needed); lets the program and its tests see that the
/// constructor was linked in.
int indextts_startup_check_ran(void);
#endif
