import {
  Authenticated,
  type LenraError,
  Unauthenticated,
  type UseListenerResult,
  useLenraAuth,
  useLenraConnection,
  useLenraView,
  useListener,
} from "@lenra/react";
import { useState, useSyncExternalStore } from "react";
import type { CounterData, TodoData, TodosData } from "./types.ts";

function subscribeToHash(onChange: () => void) {
  window.addEventListener("hashchange", onChange);
  return () => window.removeEventListener("hashchange", onChange);
}

export function App() {
  const path = useSyncExternalStore(subscribeToHash, () => window.location.hash.slice(1) || "/");
  const { status } = useLenraAuth();
  const todoId = /^\/todos\/(.+)$/.exec(path)?.[1];
  let page = (
    <p className="hint" data-testid="todos-login-hint">
      Log in to keep a todo list.
    </p>
  );
  if (!/^\/todos(\/|$)/.test(path)) page = <Counters />;
  else if (status === "authenticated") page = todoId ? <TodoDetail id={todoId} /> : <TodoList />;
  return (
    <>
      <header className="bar">
        <a data-testid="nav-counter" href="#/">
          Counters
        </a>
        <a data-testid="nav-todos" href="#/todos">
          Todos
        </a>
        <ConnectionBadge />
        <AuthBar />
      </header>
      <main>{page}</main>
    </>
  );
}

function ConnectionBadge() {
  const { status } = useLenraConnection();
  const label =
    status === "open"
      ? "connected"
      : status === "connecting" || status === "reconnecting"
        ? "reconnecting"
        : "offline";
  return (
    <span className={`badge ${label}`} data-testid="connection" data-status={status}>
      {label}
    </span>
  );
}

function AuthBar() {
  const { status, user, error, login, logout } = useLenraAuth();
  const [failure, setFailure] = useState<Error>();
  // login() and logout() reject when the popup is blocked or closed, or the server is unreachable.
  const run = (action: Promise<void>) => {
    setFailure(undefined);
    action.catch(setFailure);
  };
  return (
    <div className="auth">
      <span className="status" data-testid="auth-status">
        {status}
      </span>
      {status === "authenticated" ? (
        <>
          <b data-testid="user">{user?.sub}</b>
          <button type="button" data-testid="logout" onClick={() => run(logout())}>
            Log out
          </button>
        </>
      ) : (
        <>
          <button type="button" data-testid="login" onClick={() => run(login())}>
            Log in
          </button>
          <button
            type="button"
            data-testid="login-popup"
            onClick={() => run(login({ mode: "popup" }))}
          >
            Log in with a popup
          </button>
        </>
      )}
      <Failure error={failure ?? error} testId="auth-error" />
    </div>
  );
}

function Counters() {
  return (
    <>
      <CounterCard title="Everyone's counter" path="/counter/global" testId="global" />
      <Authenticated>
        <CounterCard title="Your counter" path="/counter/me" testId="me" />
      </Authenticated>
      <Unauthenticated>
        <p className="hint">Log in to get a counter of your own.</p>
      </Unauthenticated>
    </>
  );
}

type CounterCardProps = { title: string; path: string; testId: "global" | "me" };

function CounterCard({ title, path, testId }: CounterCardProps) {
  const { data, error } = useLenraView<CounterData>(path);
  const increment = useListener(data?.onIncrement);
  const decrement = useListener(data?.onDecrement);
  return (
    <section className="card">
      <h2>{title}</h2>
      {data ? (
        <div className="counter">
          <CallButton caller={decrement} testId={`${testId}-dec`} label="−" />
          <output data-testid={`${testId}-value`}>{data.value}</output>
          <CallButton caller={increment} testId={`${testId}-inc`} label="+" />
        </div>
      ) : (
        <Pending error={error} />
      )}
      <Failure error={decrement.error ?? increment.error} testId={`${testId}-error`} />
    </section>
  );
}

function TodoList() {
  const { data, error } = useLenraView<TodosData>("/todos");
  const add = useListener(data?.onAdd);
  const [title, setTitle] = useState("");
  return (
    <section className="card">
      <h2>Your todos</h2>
      <form
        className="add"
        onSubmit={(event) => {
          event.preventDefault();
          void add.call({ value: title });
          setTitle("");
        }}
      >
        <input
          data-testid="todo-new"
          aria-label="New todo"
          placeholder="What needs doing?"
          value={title}
          onChange={(event) => setTitle(event.target.value)}
        />
        <button type="submit" data-testid="todo-add" disabled={!data || add.isPending}>
          Add
        </button>
      </form>
      <Failure error={add.error} />
      {data ? (
        <>
          <ul className="todos">
            {data.items.map((todo) => (
              <TodoItem key={todo.id} todo={todo} />
            ))}
          </ul>
          <p className="muted">
            <span data-testid="todos-remaining">{data.remaining}</span> left
          </p>
        </>
      ) : (
        <Pending error={error} />
      )}
    </section>
  );
}

/** One item of the list, already rendered by the server with the `todo` view. */
function TodoItem({ todo }: { todo: TodoData }) {
  const toggle = useListener(todo.onToggle);
  const remove = useListener(todo.onRemove);
  return (
    <li data-testid="todo-item" data-done={String(todo.done)}>
      <input
        type="checkbox"
        data-testid="todo-toggle"
        aria-label="Done"
        checked={todo.done}
        disabled={toggle.isPending}
        onChange={() => toggle.call()}
      />
      <a data-testid="todo-link" href={`#/todos/${todo.id}`}>
        <span data-testid="todo-title">{todo.title}</span>
      </a>
      <CallButton caller={remove} testId="todo-remove" label="Remove" />
      <Failure error={toggle.error ?? remove.error} />
    </li>
  );
}

function TodoDetail({ id }: { id: string }) {
  const { data, error } = useLenraView<TodoData>(`/todos/${id}`);
  const toggle = useListener(data?.onToggle);
  return (
    <section className="card">
      <a data-testid="todo-back" href="#/todos">
        ← All todos
      </a>
      {error || !data ? (
        <Pending error={error} testId="todo-detail-error" />
      ) : (
        <>
          <h2 data-testid="todo-detail-title">{data.title}</h2>
          <p>
            This todo is <b data-testid="todo-detail-done">{data.done ? "done" : "open"}</b>.
          </p>
          <CallButton
            caller={toggle}
            testId="todo-detail-toggle"
            label={data.done ? "Reopen" : "Mark as done"}
          />
          <Failure error={toggle.error} />
        </>
      )}
    </section>
  );
}

type CallButtonProps = { caller: UseListenerResult<unknown>; testId: string; label: string };

/** A button that calls a listener, disabled while the call runs. */
function CallButton({ caller: { call, isPending }, testId, label }: CallButtonProps) {
  return (
    <button type="button" data-testid={testId} disabled={isPending} onClick={() => call()}>
      {label}
    </button>
  );
}

/** What a view shows before it has data: why it has none, or "Loading…". */
function Pending({ error, testId }: { error: LenraError | undefined; testId?: string }) {
  return error ? <Failure error={error} testId={testId} /> : <p className="muted">Loading…</p>;
}

/** An error message, when there is one. */
function Failure({ error, testId }: { error: Error | undefined; testId?: string | undefined }) {
  return error ? (
    <p className="error" data-testid={testId}>
      {error.message}
    </p>
  ) : null;
}
