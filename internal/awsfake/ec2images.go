package awsfake

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Image is an AMI as DescribeImages reports it.
type Image struct {
	ID          string // assigned when empty
	Name        string // e.g. debian-12-amd64-20240717-1811
	Description string
	OwnerID     string // e.g. 136693071363 (Debian)
	OwnerAlias  string // e.g. amazon
}

// AddImage registers an AMI and returns its id.
func (s *Server) AddImage(img Image) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if img.ID == "" {
		img.ID = s.newID("ami-")
	}
	s.images = append(s.images, &img)
	return img.ID
}

// describeImages answers by ImageId.N only, the way discovery asks. Like EC2,
// an id it does not know fails the whole request.
func (s *Server) describeImages(w http.ResponseWriter, r *http.Request) {
	ids := indexed(r.PostForm, "ImageId.%d")
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := describeImagesResponse{RequestID: "req-" + strconv.Itoa(s.nextID)}
	var missing []string
	for _, id := range ids {
		img := s.image(id)
		if img == nil {
			missing = append(missing, id)
			continue
		}
		resp.Images = append(resp.Images, imageXML{
			ImageID: img.ID, ImageState: "available", ImageOwnerID: img.OwnerID, ImageOwnerAlias: img.OwnerAlias,
			Name: img.Name, Description: img.Description, PlatformDetails: "Linux/UNIX",
			Architecture: "x86_64", ImageType: "machine", RootDeviceType: "ebs", VirtualizationType: "hvm",
		})
	}
	if len(missing) > 0 {
		ec2Error(w, http.StatusBadRequest, "InvalidAMIID.NotFound", fmt.Sprintf("The image id '[%s]' does not exist", strings.Join(missing, ", ")))
		return
	}
	writeXML(w, http.StatusOK, resp)
}

func (s *Server) image(id string) *Image {
	for _, img := range s.images {
		if img.ID == id {
			return img
		}
	}
	return nil
}

type describeImagesResponse struct {
	XMLName   struct{}   `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ DescribeImagesResponse"`
	RequestID string     `xml:"requestId"`
	Images    []imageXML `xml:"imagesSet>item"`
}

type imageXML struct {
	ImageID            string `xml:"imageId"`
	ImageState         string `xml:"imageState"`
	ImageOwnerID       string `xml:"imageOwnerId"`
	ImageOwnerAlias    string `xml:"imageOwnerAlias,omitempty"`
	Name               string `xml:"name"`
	Description        string `xml:"description,omitempty"`
	PlatformDetails    string `xml:"platformDetails"`
	Architecture       string `xml:"architecture"`
	ImageType          string `xml:"imageType"`
	RootDeviceType     string `xml:"rootDeviceType"`
	VirtualizationType string `xml:"virtualizationType"`
}
