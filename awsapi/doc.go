// Package awsapi is the AWS JSON 1.1 wire protocol of Rotor: it turns
// `POST /` requests carrying `X-Amz-Target: secretsmanager.<Op>` (or
// `rotor.<Op>` for Rotor's own operations) into calls on rotor.SecretService,
// rotor.AdminService and, when configured, rotor.Rotator and
// rotor.RotationService, and encodes their results and errors exactly as AWS
// Secrets Manager does, so the AWS SDKs and CLI work against it unchanged.
//
// The package is deliberately thin. It knows the wire format — framing,
// X-Amz-Target dispatch, the member names, epoch-second timestamps, base64
// blobs, the AWS exception names — and nothing about storage or business
// rules, which the service behind rotor.SecretService applies.
//
// Every request follows one straight path (Handler.ServeHTTP):
//
//  1. only POST / is served; the body is read up to Handler.MaxBodyBytes;
//  2. the request's signature is verified by the Authenticator and the
//     authenticated caller is put into the context (rotor.NewContext);
//  3. X-Amz-Target selects the operation;
//  4. the JSON body is checked against the operation's input shape in the
//     embedded botocore model (model/secretsmanager-service-2.json): JSON
//     types (SerializationException) and then the model's constraints —
//     required members, lengths, patterns, enums, ranges — reported in AWS's
//     "N validation errors detected: ..." format (ValidationException).
//     A body that is a flat object of plain strings (most reads) is checked
//     in place by a fast path that gives the same answers (flat.go);
//  5. the wire struct is converted to the domain input, the service is
//     called, and the result is converted back and encoded.
//
// Domain errors (*rotor.Error) become AWS exceptions in exactly one table
// (see error.go); any other error is an InternalServiceError whose cause is
// logged with the request id and never sent.
package awsapi
