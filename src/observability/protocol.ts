/** The wire protocol of a call, from its content type. */
export function protocolOf(contentType: string | null): "connect" | "grpc" | "grpcweb" {
  if (contentType === null) return "connect";
  if (contentType.startsWith("application/grpc-web")) return "grpcweb";
  if (contentType.startsWith("application/grpc")) return "grpc";
  return "connect";
}
