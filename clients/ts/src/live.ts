// Live feeds over graphql-transport-ws with the `graphql-ws` client: the key
// goes in connection_init, events arrive typed by the generated documents.
import { print } from "graphql";
import { createClient, type Client } from "graphql-ws";

import {
  LiveCallsDocument,
  LiveUsageDocument,
  type LiveCallsSubscription,
  type LiveCallsSubscriptionVariables,
  type LiveUsageSubscription,
} from "./gql/graphql";

export function connect(wsUrl: string, apiKey: string): Client {
  return createClient({
    url: wsUrl,
    connectionParams: { authorization: `Bearer ${apiKey}` },
    // 4403: unknown or revoked key; 4429: too many sockets for this key.
    shouldRetry: (event) =>
      !(event instanceof CloseEvent && [4403, 4429].includes(event.code)),
  });
}

/** Call `onCall` for each new call matching `filter`; returns an unsubscribe. */
export function watchCalls(
  client: Client,
  filter: LiveCallsSubscriptionVariables["filter"],
  onCall: (call: LiveCallsSubscription["callLogged"]) => void,
): () => void {
  return client.subscribe<LiveCallsSubscription>(
    { query: print(LiveCallsDocument), variables: { filter } },
    {
      next: (result) => {
        if (result.data) onCall(result.data.callLogged);
      },
      // UNAVAILABLE means this subscriber fell behind: subscribe again.
      error: (error) => console.error("live calls ended", error),
      complete: () => undefined,
    },
  );
}

/** Headline numbers every `intervalSeconds`. */
export async function* usageTicks(
  client: Client,
  intervalSeconds: number,
): AsyncGenerator<LiveUsageSubscription["usageTicked"]> {
  const ticks = client.iterate<LiveUsageSubscription>({
    query: print(LiveUsageDocument),
    variables: { intervalSeconds },
  });
  for await (const tick of ticks) {
    if (tick.data) yield tick.data.usageTicked;
  }
}
