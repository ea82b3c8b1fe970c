/* An ICE-lite responder on libnice: answers connectivity checks on HOST:PORT
 * with the given short-term credentials until killed. Prints "READY host port".
 * Build: cc -o nice_lite nice_lite.c $(pkg-config --cflags --libs nice) */
#include <stdio.h>
#include <stdlib.h>
#include <agent.h>

static void on_recv(NiceAgent *agent, guint stream, guint component, guint len,
                    gchar *buf, gpointer data) {
  (void)agent; (void)stream; (void)component; (void)len; (void)buf; (void)data;
}

static void on_gathered(NiceAgent *agent, guint stream, gpointer data) {
  (void)data;
  GSList *cands = nice_agent_get_local_candidates(agent, stream, 1);
  for (GSList *i = cands; i; i = i->next) {
    NiceCandidate *c = i->data;
    gchar text[NICE_ADDRESS_STRING_LEN];
    nice_address_to_string(&c->addr, text);
    printf("READY %s %u\n", text, nice_address_get_port(&c->addr));
  }
  fflush(stdout);
  g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s HOST PORT UFRAG PWD CLIENT_UFRAG\n", argv[0]);
    return 2;
  }
  GMainLoop *loop = g_main_loop_new(NULL, FALSE);
  NiceAgent *agent = nice_agent_new_full(g_main_loop_get_context(loop),
                                         NICE_COMPATIBILITY_RFC5245, NICE_AGENT_OPTION_LITE_MODE);
  g_object_set(agent, "controlling-mode", FALSE, "upnp", FALSE, NULL);
  NiceAddress addr;
  nice_address_init(&addr);
  if (!nice_address_set_from_string(&addr, argv[1])) {
    fprintf(stderr, "bad address %s\n", argv[1]);
    return 2;
  }
  nice_agent_add_local_address(agent, &addr);
  guint stream = nice_agent_add_stream(agent, 1);
  guint port = (guint)atoi(argv[2]);
  nice_agent_set_port_range(agent, stream, 1, port, port);
  nice_agent_set_local_credentials(agent, stream, argv[3], argv[4]);
  /* A lite agent never checks, so the client's password is never used. */
  nice_agent_set_remote_credentials(agent, stream, argv[5], "unusedclientpassword00");
  g_signal_connect(agent, "candidate-gathering-done", G_CALLBACK(on_gathered), NULL);
  nice_agent_attach_recv(agent, stream, 1, g_main_loop_get_context(loop), on_recv, NULL);
  if (!nice_agent_gather_candidates(agent, stream)) {
    fprintf(stderr, "gathering failed (port %u taken?)\n", port);
    return 1;
  }
  g_main_loop_run(loop);
  return 0;
}
