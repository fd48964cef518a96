// A team screen has nobody to click "retry": keep reconnecting the circuit (every 2 s, then every 10 s).
// When the server restarted and the circuit is gone, Blazor reloads the page by itself.
Blazor.start({
  circuit: {
    reconnectionOptions: {
      maxRetries: 1000000,
      retryIntervalMilliseconds: (previousAttempts) => (previousAttempts < 10 ? 2000 : 10000),
    },
  },
});
