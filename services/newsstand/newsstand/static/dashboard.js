// The newsstand dashboard: plain JavaScript on the app's own endpoints, nothing fetched elsewhere.
"use strict";

const money = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const FEED_LENGTH = 50;

function showTotal(event) {
  const total = JSON.parse(event.data);
  document.getElementById("total").textContent = money.format(total.total);
  document.getElementById("total").dataset.value = String(total.total);
  document.getElementById("total-at").textContent =
    `${total.subscriptions} subscriptions, at ${new Date(total.at).toLocaleTimeString()}`;
}

function showRecord(event) {
  const record = JSON.parse(event.data);
  const item = document.createElement("li");
  item.dataset.recordId = record.record_id;
  const { record_id: _id, messenger_id: messenger, ...details } = record;
  const described = Object.entries(details).map(([key, value]) => `${key}: ${JSON.stringify(value)}`);
  item.textContent = [`messenger ${messenger}`, ...described].join(" · ");
  const feed = document.getElementById("messenger-feed");
  feed.prepend(item);
  while (feed.children.length > FEED_LENGTH) feed.lastChild.remove();
}

async function computePayables(event) {
  event.preventDefault();
  const date = document.getElementById("billing-date").value;
  const out = document.getElementById("payables-total");
  const note = document.getElementById("payables-note");
  out.textContent = "…";
  delete out.dataset.value;
  try {
    const response = await fetch(`/billing/total/payable?billing_date=${encodeURIComponent(date)}`,
                                 { method: "POST" });
    const body = await response.json();
    if (!response.ok) throw new Error(`${response.status}: ${JSON.stringify(body.detail)}`);
    out.textContent = money.format(body.total);
    out.dataset.value = String(body.total);
    note.textContent = `payables from January 1st to ${body.billing_date}`;
  } catch (error) {
    out.textContent = "error";
    note.textContent = String(error.message || error);
  }
}

async function pollHealth() {
  const badge = document.getElementById("broker-status");
  let state = "disconnected";
  try {
    const response = await fetch("/healthz", { cache: "no-store" });
    state = (await response.json()).broker;
  } catch (error) {
    state = "app unreachable";
  }
  badge.textContent = `broker: ${state}`;
  badge.className = `status ${state === "connected" ? "connected" : "disconnected"}`;
}

// EventSource reconnects by itself when the app restarts.
new EventSource("/subscriptions/totals/sse").onmessage = showTotal;
new EventSource("/messenger/sse").onmessage = showRecord;
document.getElementById("payables-form").addEventListener("submit", computePayables);
pollHealth();
setInterval(pollHealth, 2000);
