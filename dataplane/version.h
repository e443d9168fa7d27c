#ifndef DP_VERSION_H
#define DP_VERSION_H
#define DP_VERSION "0.1.0"
#endif
