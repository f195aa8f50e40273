package server

import "github.com/srs-lite/srs-lite/internal/device/v4l2"

// devicesJSON lists the video devices, their formats and sizes, for GET
// /api/v1/devices.
func (s *Server) devicesJSON() any { return v4l2.List("", nil) }
