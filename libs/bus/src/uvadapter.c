/*
 * uvadapter.c -- attaches a NATS connection to a libuv loop.
 *
 * This is the ONLY file of the library (and must stay the only one in any binary that
 * links it) that includes <nats/adapters/libuv.h>: the header defines non-static
 * functions (natsLibuv_Init, natsLibuv_Attach, ...), so a second copy breaks the link
 * with duplicate symbols. Code elsewhere that needs the adapter calls bus__uv_attach.
 *
 * Invariant: bus__uv_attach runs on the loop's own thread, because the adapter records
 * that thread (natsLibuv_SetThreadLocalLoop) to know when it may touch uv handles
 * directly and when it must post to the loop.
 */
#include "bus_int.h"

#include <uv.h>
#include <nats/adapters/libuv.h>

natsStatus bus__uv_attach(natsOptions *opts, void *uv_loop)
{
    uv_loop_t *loop = uv_loop;
    natsLibuv_Init();
    natsLibuv_SetThreadLocalLoop(loop);
    return natsOptions_SetEventLoop(opts, loop, natsLibuv_Attach, natsLibuv_Read,
                                    natsLibuv_Write, natsLibuv_Detach);
}
