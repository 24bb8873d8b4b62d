"use client";
export * from "@lenra/client/login";
