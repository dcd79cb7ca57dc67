/*
 * utils/ps_status.h: what ps shows for this process, PostgreSQL 13-15
 * compatible subset: set_ps_display(activity) shows the activity after the
 * process's fixed title ("bgw: bgw_example worker 1 <activity>").
 */
#ifndef BGW_COMPAT_PS_STATUS_H
#define BGW_COMPAT_PS_STATUS_H

#include "c.h"

#ifdef __cplusplus
extern "C" {
#endif

extern void set_ps_display(const char *activity);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_PS_STATUS_H */
