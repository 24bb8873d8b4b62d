import { describe, expect, it } from "vitest";
import { AppRequestError, AppRequestErrorReason } from "../src/app/client.ts";
import { appFailure } from "../src/lenra/errors.ts";
import { LenraBackendError } from "../src/protocol.ts";

function failed(status: number, body?: string): AppRequestError {
  return new AppRequestError(AppRequestErrorReason.Failed, body ?? `HTTP ${status}`, {
    status,
    ...(body === undefined ? {} : { body }),
  });
}

describe("appFailure: a failed request to the app as Lenra's ApplicationServices reports it", () => {
  it("names the error after the app's status, with the app's answer as metadata", () => {
    const cases: [number, string, string, number][] = [
      [
        400,
        "bad_request",
        "Server cannot understand or process the request due to a client-side error.",
        400,
      ],
      [404, "error_404", "Not Found.", 404],
      [500, "error_500", "Internal server error.", 500],
      [504, "timeout", "Timeout", 500],
      [418, "unknown_error", "Unknown error", 500],
    ];
    for (const [status, reason, message, statusCode] of cases) {
      const error = appFailure(failed(status, "the app's text"));
      expect(error.toPayload(), String(status)).toEqual({
        message,
        reason,
        metadata: "the app's text",
        status_code: statusCode,
      });
      // The error event Lenra pushes is translated: no status_code.
      expect(error.toEventPayload()).toEqual({ message, reason, metadata: "the app's text" });
    }
  });

  it("calls an app that cannot be reached, or answers too late, Lenra's openfaas_not_reachable", () => {
    for (const reason of [AppRequestErrorReason.Unreachable, AppRequestErrorReason.Timeout]) {
      const error = appFailure(new AppRequestError(reason, "The app cannot be reached."));
      expect(error.toPayload()).toEqual({
        message: "Openfaas could not be reached.",
        reason: "openfaas_not_reachable",
        metadata: "The app cannot be reached.",
        status_code: 500,
      });
    }
  });

  it("gives what the dev server finds wrong itself the error 500 shape, and keeps Lenra errors as they are", () => {
    expect(appFailure(new Error("The view nests itself.")).toPayload()).toEqual({
      message: "Internal server error.",
      reason: "error_500",
      metadata: "The view nests itself.",
      status_code: 500,
    });
    const wrapped = new Error("The view failed", { cause: failed(404, "gone") });
    expect(appFailure(wrapped).reason).toBe("error_404");
    const lenra = new LenraBackendError("route_does_not_exist", "No.");
    expect(appFailure(lenra)).toBe(lenra);
  });
});
