// utils/ps_status.h over port/process_title.h.
#include "postgres/utils/ps_status.h"

#include "port/process_title.h"

extern "C" void set_ps_display(const char* activity) {
  bgw::process_title::SetActivity(activity != nullptr ? activity : "");
}
