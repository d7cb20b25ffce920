// The dashboard's landing numbers, typed by the generated DashboardQuery:
// a renamed or removed field fails `npm run check`.
import { print } from "graphql";

import {
  DashboardDocument,
  type DashboardQuery,
  type DashboardQueryVariables,
  type CallRowFragment,
} from "./gql/graphql";

export interface Headline {
  calls: number;
  activeSessions: number;
  errors: number;
  costUsd: number;
  latestModel: string | null;
  sessionCostP90: number | null;
  topUser: string | null;
}

export function headline(data: DashboardQuery): Headline {
  const rows: CallRowFragment[] = data.recentCalls.items;
  return {
    calls: data.recentCalls.totalCount,
    activeSessions: data.activeSessions.totalCount,
    errors: rows.filter((row) => row.status === "ERROR").length,
    costUsd: rows.reduce((sum, row) => sum + (row.costUsd ?? 0), 0),
    latestModel: rows[0]?.model ?? null,
    sessionCostP90: data.sessionStats.costUsd.p90 ?? null,
    topUser: data.topUsers[0]?.userId ?? null,
  };
}

/** POST the Dashboard query with an API key; the result is fully typed. */
export async function fetchDashboard(
  url: string,
  apiKey: string,
  variables: DashboardQueryVariables,
): Promise<DashboardQuery> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Authorization: `Bearer ${apiKey}`,
    },
    body: JSON.stringify({ query: print(DashboardDocument), variables }),
  });
  const body = (await response.json()) as {
    data?: DashboardQuery;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
  if (body.errors?.length || !body.data) {
    const first = body.errors?.[0];
    throw new Error(`${first?.extensions?.code ?? response.status}: ${first?.message}`);
  }
  return body.data;
}
