// Consentry's operator dashboard. It calls the tenant API with the key typed in (or given in the URL fragment,
// which browsers never send to a server) and shows one user's data, section by section. Everything the API
// returns goes into the page as text (textContent and attributes, never markup), and amounts are shown exactly
// as the API spells them: the page does no arithmetic on money.
"use strict";

const BASE_CURRENCY = "EUR";
const TRANSACTIONS_PER_PAGE = 50;
/// How far back the spending chart looks for a month with data before settling on the newest.
const SPENDING_MONTHS_BACK = 12;
const SVG_NS = "http://www.w3.org/2000/svg";

// ---- building the page: text only ----------------------------------------------------------------------

/// An element with `attributes` and `children`; strings become text nodes, so data is never parsed as markup.
function el(tag, attributes, ...children) {
  return fill(document.createElement(tag), attributes, children);
}

function svg(tag, attributes, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attributes, children);
}

function fill(node, attributes, children) {
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/// An amount exactly as the API wrote it: `{"amount": "-12.30", "currency": "EUR"}` reads "-12.30 EUR".
function money(value) {
  return value ? `${value.amount} ${value.currency}` : "—";
}

function table(headings, rows) {
  return el(
    "table",
    {},
    el("thead", {}, el("tr", {}, headings.map((heading) => el("th", {}, heading)))),
    el("tbody", {}, rows),
  );
}

/// The banks that did not answer, next to the data that did; nothing when all answered.
function failures(list) {
  if (!list || list.length === 0) return document.createDocumentFragment();
  return el(
    "ul",
    { class: "failures" },
    list.map((failure) =>
      el("li", { "data-testid": "failure", "data-bank": failure.bank }, `${failure.bank}: ${failure.reason}`),
    ),
  );
}

// ---- the API ---------------------------------------------------------------------------------------------

class Api {
  constructor(key, user) {
    this.key = key;
    this.user = user;
    this.answers = new Map();
  }

  userPath(resource) {
    return `/v1/users/${encodeURIComponent(this.user)}/${resource}`;
  }

  async get(path) {
    const response = await fetch(path, {
      headers: { Authorization: `Bearer ${this.key}`, Accept: "application/json" },
      cache: "no-store",
      credentials: "omit",
    });
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) {
      // Problem details (`detail`) or the older `{"error": …}`.
      const detail = body && (body.detail || body.error || body.title);
      throw new Error(`${response.status} ${detail || response.statusText}`);
    }
    return body;
  }

  /// One request per path for the whole page, shared by the sections that need the same answer (each read of
  /// the banks counts against the consent's unattended budget).
  once(path) {
    if (!this.answers.has(path)) this.answers.set(path, this.get(path));
    return this.answers.get(path);
  }
}

// ---- the sections ----------------------------------------------------------------------------------------
// Each section is a title and a function that fills its body from the API; a new section is one more entry.

const SECTIONS = [
  { id: "connections", title: "Connections", render: renderConnections },
  { id: "balances", title: "Balances", render: renderBalances },
  { id: "spending", title: "Spending by category", render: renderSpending },
  { id: "transactions", title: "Transactions", render: renderTransactions },
  { id: "payments", title: "Payments", render: renderPayments },
];

function countdown(daysLeft) {
  if (daysLeft === null || daysLeft === undefined) return "—";
  if (daysLeft > 1) return `${daysLeft} days left`;
  if (daysLeft === 1) return "1 day left";
  if (daysLeft === 0) return "last day";
  return `expired ${-daysLeft} ${daysLeft === -1 ? "day" : "days"} ago`;
}

async function renderConnections(api, body) {
  const { consents } = await api.once(api.userPath("consents"));
  if (consents.length === 0) {
    body.append(el("p", { class: "empty" }, "No connections."));
    return;
  }
  const rows = consents.map((consent) => {
    const soon = consent.status === "valid" && consent.daysLeft !== null && consent.daysLeft <= 7;
    return el(
      "tr",
      { "data-testid": "consent", "data-consent": consent.consent },
      el("td", {}, consent.bank),
      el(
        "td",
        {},
        el("span", { class: `status ${consent.status || "unknown"}`, "data-testid": "consent-status" }, consent.status || "—"),
        consent.statusReason ? el("span", { class: "reason" }, ` ${consent.statusReason}`) : null,
      ),
      el("td", { "data-testid": "consent-valid-until" }, consent.validUntil || "—"),
      el(
        "td",
        { class: soon ? "soon" : "", "data-testid": "consent-days-left", "data-days": consent.daysLeft },
        countdown(consent.daysLeft),
      ),
      el("td", {}, consent.access || "—"),
      el("td", {}, consent.renewedBy ? `renewed by ${consent.renewedBy}` : ""),
    );
  });
  body.append(table(["Bank", "Status", "Valid until", "Expiry", "Access", "Renewal"], rows));
}

async function renderBalances(api, body) {
  const answer = await api.once(`${api.userPath("balances")}?base=${BASE_CURRENCY}`);
  const total = answer.total.error
    ? el("p", { class: "total", "data-testid": "total-error" }, `No total: ${answer.total.error}`)
    : el(
        "p",
        { class: "total" },
        "Total ",
        el("strong", { "data-testid": "total" }, money(answer.total.amount)),
        " at the rates of ",
        el("span", { "data-testid": "rates-date" }, answer.total.ratesDate),
        el("span", { class: "source" }, ` (${answer.total.ratesSource})`),
      );
  const rows = answer.accounts.map((account) =>
    el(
      "tr",
      { "data-testid": "account" },
      el("td", {}, account.bank),
      el("td", {}, account.name || account.accountId),
      el("td", { class: "iban" }, account.iban || "—"),
      el("td", {}, account.balanceType || "—"),
      el(
        "td",
        {
          class: "amount",
          "data-testid": "balance",
          "data-account": `${account.consentId}/${account.accountId}`,
        },
        account.balance ? money(account.balance) : `— ${account.currency}`,
      ),
    ),
  );
  body.append(
    total,
    answer.accounts.length === 0
      ? el("p", { class: "empty" }, "No accounts.")
      : table(["Bank", "Account", "IBAN", "Balance type", "Balance"], rows),
    failures(answer.failures),
  );
}

function monthBefore(month) {
  const [year, number] = month.split("-").map((part) => parseInt(part, 10));
  const previous = number === 1 ? [year - 1, 12] : [year, number - 1];
  return `${previous[0]}-${String(previous[1]).padStart(2, "0")}`;
}

function transactionsPath(api, cursor) {
  const cursorParameter = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
  return `${api.userPath("transactions")}?limit=${TRANSACTIONS_PER_PAGE}${cursorParameter}`;
}

/// The month to show first: the newest with spending, looking back from the newest booked transaction's month
/// (the engine's clock may not be this browser's), or this month when nothing is booked.
async function firstSpendingMonth(api) {
  const page = await api.once(transactionsPath(api, null));
  const booked = page.transactions.find((t) => t.status === "booked" && t.bookingDate);
  const newest = booked ? booked.bookingDate.slice(0, 7) : new Date().toISOString().slice(0, 7);
  let month = newest;
  for (let back = 0; back < SPENDING_MONTHS_BACK; back += 1) {
    const answer = await api.get(`${api.userPath("spending")}?month=${month}`);
    if (answer.spending.length > 0) return answer;
    month = monthBefore(month);
  }
  return { month: newest, spending: [] };
}

/// Bars per line, as long as the amount relative to the largest of its flow and currency. The bar's length is
/// the only place a number is read from an amount; the label shows the API's string.
function spendingChart(lines) {
  const scaleOf = (line) => `${line.flow} ${line.total.currency}`;
  const largest = new Map();
  for (const line of lines) {
    const size = Math.abs(Number(line.total.amount));
    largest.set(scaleOf(line), Math.max(largest.get(scaleOf(line)) || 0, size));
  }
  const rowHeight = 26;
  const labelWidth = 170;
  const barSpace = 420;
  const chart = svg("svg", {
    class: "chart",
    width: labelWidth + barSpace + 170,
    height: lines.length * rowHeight + 8,
    role: "img",
    "aria-label": "Spending by category",
  });
  lines.forEach((line, index) => {
    const top = index * rowHeight + 4;
    const scale = largest.get(scaleOf(line)) || 1;
    const width = Math.max(1, Math.round((Math.abs(Number(line.total.amount)) / scale) * barSpace));
    chart.append(
      svg(
        "g",
        { class: `line ${line.flow}` },
        svg("title", {}, `${line.category} (${line.flow}): ${money(line.total)}, ${line.count} transactions`),
        svg("text", { class: "label", x: labelWidth - 8, y: top + 16 }, line.category),
        svg("rect", { class: `bar ${line.flow}`, x: labelWidth, y: top + 3, width, height: rowHeight - 8 }),
        svg(
          "text",
          {
            class: "value",
            x: labelWidth + width + 6,
            y: top + 16,
            "data-testid": "spending-amount",
            "data-category": line.category,
            "data-flow": line.flow,
            "data-currency": line.total.currency,
          },
          money(line.total),
        ),
      ),
    );
  });
  return chart;
}

async function renderSpending(api, body) {
  const picker = el("input", { type: "month", "data-testid": "spending-month", required: "" });
  const chart = el("div", { class: "chart-box", "data-testid": "spending-chart" });
  const show = (answer) => {
    picker.value = answer.month;
    chart.dataset.month = answer.month;
    chart.replaceChildren(
      answer.spending.length === 0
        ? el("p", { class: "empty" }, `Nothing booked in ${answer.month}.`)
        : spendingChart(answer.spending),
    );
  };
  picker.addEventListener("change", async () => {
    if (!picker.value) return;
    try {
      show(await api.get(`${api.userPath("spending")}?month=${picker.value}`));
    } catch (error) {
      chart.replaceChildren(el("p", { class: "error" }, error.message));
    }
  });
  body.append(
    el("p", { class: "controls" }, el("label", {}, "Month ", picker), el("span", { class: "legend" }, " spending and income, booked transactions")),
    chart,
  );
  show(await firstSpendingMonth(api));
}

async function renderTransactions(api, body) {
  // The cursors of the pages shown so far: the first page has none.
  const cursors = [null];
  const list = el("div", {});
  const position = el("span", { "data-testid": "transactions-page" });
  const first = el("button", { type: "button" }, "First page");
  const next = el("button", { type: "button", "data-testid": "next-page" }, "Next page");
  let nextCursor = null;

  const load = async () => {
    const cursor = cursors[cursors.length - 1];
    const page = await (cursor ? api.get(transactionsPath(api, cursor)) : api.once(transactionsPath(api, null)));
    nextCursor = page.next || null;
    next.disabled = nextCursor === null;
    first.disabled = cursors.length === 1;
    position.textContent = `Page ${cursors.length}, ${page.transactions.length} transactions`;
    const rows = page.transactions.map((t) =>
      el(
        "tr",
        { "data-testid": "transaction", "data-transaction": t.transactionId },
        el("td", {}, t.bookingDate || t.valueDate || "—"),
        el("td", {}, t.bank),
        el("td", {}, t.counterparty || ""),
        el("td", {}, t.description),
        el("td", {}, t.category),
        el("td", {}, t.status),
        el("td", { class: `amount ${t.flow}`, "data-testid": "transaction-amount" }, money(t.amount)),
      ),
    );
    list.replaceChildren(
      page.transactions.length === 0
        ? el("p", { class: "empty" }, "No transactions in the last 30 days.")
        : table(["Date", "Bank", "Counterparty", "Description", "Category", "Status", "Amount"], rows),
      failures(page.failures),
    );
  };
  const move = async (change) => {
    change();
    try {
      await load();
    } catch (error) {
      list.replaceChildren(el("p", { class: "error" }, error.message));
    }
  };
  next.addEventListener("click", () => move(() => nextCursor && cursors.push(nextCursor)));
  first.addEventListener("click", () => move(() => cursors.splice(1)));
  body.append(el("p", { class: "controls" }, first, " ", next, " ", position), list);
  await load();
}

async function renderPayments(api, body) {
  const { payments } = await api.once(api.userPath("payments"));
  if (payments.length === 0) {
    body.append(el("p", { class: "empty" }, "No payments."));
    return;
  }
  const rows = payments.map((payment) =>
    el(
      "tr",
      { "data-testid": "payment", "data-payment": payment.payment },
      el("td", {}, payment.requestedAt || "—"),
      el("td", {}, payment.bank),
      el("td", {}, payment.creditorName || "—"),
      el("td", { class: "amount", "data-testid": "payment-amount" }, money(payment.amount)),
      el("td", {}, payment.phase || "—"),
      el("td", { "data-testid": "payment-status" }, payment.status || "—"),
      el(
        "td",
        {},
        payment.history.length === 0
          ? "—"
          : el(
              "ol",
              { class: "history" },
              payment.history.map((change) =>
                el("li", { "data-testid": "payment-history" }, `${change.status} at ${change.at}`),
              ),
            ),
      ),
    ),
  );
  body.append(table(["Requested", "Bank", "Creditor", "Amount", "Phase", "Status", "Status history"], rows));
}

// ---- the page --------------------------------------------------------------------------------------------

async function show(key, user) {
  const api = new Api(key, user);
  const status = document.getElementById("status");
  const main = document.getElementById("sections");
  document.body.dataset.state = "loading";
  status.textContent = `Loading user ${user}…`;
  const frames = SECTIONS.map((section) => {
    const frame = el(
      "section",
      { id: `section-${section.id}`, "data-testid": `section-${section.id}`, "data-state": "loading" },
      el("h2", {}, section.title),
    );
    const body = el("div", { class: "body" });
    frame.append(body);
    return { section, frame, body };
  });
  main.replaceChildren(...frames.map((f) => f.frame));
  let failed = 0;
  // One section after the other: each may read the banks, and a page load should look like one careful client.
  for (const { section, frame, body } of frames) {
    try {
      await section.render(api, body);
      frame.dataset.state = "ready";
    } catch (error) {
      failed += 1;
      frame.dataset.state = "error";
      body.replaceChildren(el("p", { class: "error", "data-testid": "section-error" }, error.message));
    }
  }
  status.textContent = failed === 0 ? `User ${user}` : `User ${user}: ${failed} section(s) could not be loaded`;
  document.body.dataset.state = failed === 0 ? "ready" : "failed";
}

function start() {
  const form = document.getElementById("who");
  const keyInput = document.getElementById("key");
  const userInput = document.getElementById("user");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    history.replaceState(null, "", `#user=${encodeURIComponent(userInput.value.trim())}`);
    show(keyInput.value.trim(), userInput.value.trim());
  });
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.has("user")) userInput.value = fragment.get("user");
  if (fragment.has("key")) {
    keyInput.value = fragment.get("key");
    // The key leaves the address bar and the history at once; the user id may stay.
    history.replaceState(null, "", fragment.has("user") ? `#user=${encodeURIComponent(userInput.value)}` : "#");
  }
  if (keyInput.value && userInput.value) show(keyInput.value, userInput.value);
}

start();
